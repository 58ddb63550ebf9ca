import { Argument, Command } from 'commander';

/**
 * Shell completion, written from the command tree itself (so it never lists a command that does
 * not exist): `stageline completion bash >> ~/.bashrc`, or `source <(stageline completion zsh)`.
 * Completes commands, subcommands and options.
 */
export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(stageline completion bash)')
    .addArgument(new Argument('[shell]', 'bash or zsh').choices(['bash', 'zsh']).default('bash'))
    .action((shell: 'bash' | 'zsh') => {
      process.stdout.write(script(program, shell));
    });
}

const optionsOf = (c: Command) => [...c.options.map((o) => o.long).filter((o): o is string => !!o), '--help'];

/** Every command path ("", "promotions", "promotions list", …) with the words that may follow it. */
export function completionTable(program: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const globals = optionsOf(program);
  const walk = (c: Command, path: string) => {
    const subs = c.commands.map((s) => s.name());
    table.set(
      path,
      [...subs, ...(path ? optionsOf(c) : []), ...globals].filter((w, i, all) => all.indexOf(w) === i),
    );
    for (const s of c.commands) walk(s, path ? `${path} ${s.name()}` : s.name());
  };
  walk(program, '');
  return table;
}

function script(program: Command, shell: 'bash' | 'zsh'): string {
  const cases = [...completionTable(program)].map(([path, words]) => `    "${path}") words="${words.join(' ')}" ;;`).join('\n');
  const body = `_stageline() {
  local cur path="" w
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) case " $(_stageline_words "\${path:+$path }$w") " in "  ") ;; *) path="\${path:+$path }$w" ;; esac ;; esac
  done
  COMPREPLY=( $(compgen -W "$(_stageline_words "$path")" -- "$cur") )
}
_stageline_words() {
  local words=""
  case "$1" in
${cases}
  esac
  echo "$words"
}
complete -F _stageline stageline
`;
  return shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${body}` : body;
}
