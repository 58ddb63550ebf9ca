/** The fenced code blocks of a markdown text in one language (```bash, ```python...), in order: what a doc test runs. */
export function fencedBlocks(markdown: string, language: string): string[] {
  const blocks: string[] = [];
  const re = new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm');
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) blocks.push(m[1]!);
  return blocks;
}
