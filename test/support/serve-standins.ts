import { createServer } from 'node:http';
import { startGitServer } from './git-server.ts';
import { startGitHubStandin } from './github-standin.ts';

/**
 * The guide's local stand-ins for a pull-request delivery (docs/guide/17-pull-requests.md): a real git server
 * (git http-backend) holding `<owner>/<repo>` with one values file, and the GitHub stand-in held to GitHub's
 * OpenAPI description, its webhook pointed at the local stack. Prints one JSON line (where they listen), then
 * serves until stopped. A small control endpoint plays the person on GitHub:
 *   POST /merge {"number":1}        merge the pull request (a real merge commit) and send the webhook
 *   POST /close {"number":1}        close it without merge
 *   POST /check {"sha","name","conclusion"}  report a check run
 *   GET  /violations                what broke GitHub's contract (none expected)
 *
 * usage: tsx test/support/serve-standins.ts <owner/repo> <hook URL> <git token> <GitHub token> <webhook secret>
 */
const [repo, hookUrl, gitToken, ghToken, hookSecret] = process.argv.slice(2);
if (!repo || !hookUrl || !gitToken || !ghToken || !hookSecret) {
  console.error('usage: serve-standins.ts <owner/repo> <hook URL> <git token> <GitHub token> <webhook secret>');
  process.exit(2);
}
const g = await startGitServer(gitToken);
const repository = g.repo(repo, {
  'envs/staging/values.yaml': '# staging values (Argo CD watches this file)\nimage:\n  repository: registry.example.com/platform\n  tag: v1.0.0\n',
});
const gh = await startGitHubStandin(g);
gh.allow(ghToken, repo);
gh.hook(repo, hookUrl, hookSecret);

const control = createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', async () => {
    try {
      const body = raw ? JSON.parse(raw) : {};
      const answer =
        req.url === '/merge'
          ? { webhook: await gh.merge(repo, Number(body.number)) }
          : req.url === '/close'
            ? { webhook: await gh.close(repo, Number(body.number)) }
            : req.url === '/check'
              ? { webhook: await gh.check(repo, String(body.sha), String(body.name), body.conclusion ?? null) }
              : req.url === '/violations'
                ? { violations: gh.violations, pulls: gh.pulls(repo).map((p) => ({ number: p.number, state: p.state, merged: p.merged })) }
                : null;
      res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(answer ?? { error: 'no such control' }));
    } catch (err) {
      res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }));
    }
  });
});
await new Promise<void>((r) => control.listen(0, '127.0.0.1', () => r()));
console.log(JSON.stringify({ repository, api: gh.url, control: `http://127.0.0.1:${(control.address() as { port: number }).port}` }));
const stop = async () => {
  control.close();
  await gh.stop();
  await g.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
