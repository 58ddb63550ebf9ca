import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { startGitServer } from './git-server.ts';
import { startGitHubStandin } from './github-standin.ts';

/**
 * The guide's local GitHub for deployment gates (docs/guide/31-github-deployments.md): the GitHub stand-in held to
 * GitHub's OpenAPI description, a repository `<owner>/<repo>` on a real git server, and a GitHub App (the key file's
 * public half) installed on it as installation 1. Prints one JSON line (where they listen), then serves until stopped.
 * A small control endpoint plays GitHub Actions:
 *   POST /deploy {"environment","sha","runId"?}   a job targets the environment: its run waits, and GitHub sends the
 *                                                 App's deployment_protection_rule event to the hook URL (the answer)
 *   GET  /reviews?run=<id>&environment=<name>     the reviews the run was given (what lets the job go, or stops it)
 *   POST /workflow {"file","inputs"}              the repository gets a workflow that workflow_dispatch can start
 *   GET  /runs                                    the runs workflow_dispatch started (id, workflow, inputs, status)
 *   POST /runs/<id> {"status","conclusion"?}      a run moves on (in_progress; completed with success, failure…)
 *   GET  /violations                              what broke GitHub's contract (none expected)
 *
 * usage: tsx test/support/serve-github-app.ts <owner/repo> <hook URL> <webhook secret> <App key file> <App id>
 */
const [repo, hookUrl, hookSecret, keyFile, appId] = process.argv.slice(2);
if (!repo || !hookUrl || !hookSecret || !keyFile || !appId) {
  console.error('usage: serve-github-app.ts <owner/repo> <hook URL> <webhook secret> <App key file> <App id>');
  process.exit(2);
}
const g = await startGitServer('guide-app-push-token');
g.repo(repo, { 'README.md': `# ${repo}\n` });
const gh = await startGitHubStandin(g);
const publicKey = createPublicKey(readFileSync(keyFile, 'utf8')).export({ type: 'spki', format: 'pem' }).toString();
gh.installApp({ appId, slug: 'stageline', publicKey, installationId: 1, repos: [repo] });

const control = createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', async () => {
    try {
      const url = new URL(req.url ?? '/', 'http://control');
      const body = raw ? JSON.parse(raw) : {};
      const answer =
        url.pathname === '/deploy'
          ? await gh.requestDeployment(repo, {
              environment: String(body.environment),
              sha: String(body.sha),
              installationId: 1,
              hook: { url: hookUrl, secret: hookSecret },
              ...(body.runId ? { runId: String(body.runId) } : {}),
            })
          : url.pathname === '/workflow'
            ? (gh.addWorkflow(repo, String(body.file), (body.inputs ?? []) as string[]), { ok: true })
            : url.pathname === '/runs'
              ? { runs: gh.workflowRuns(repo) }
              : url.pathname.startsWith('/runs/')
                ? (gh.setRun(Number(url.pathname.slice('/runs/'.length)), String(body.status), body.conclusion ?? null), { ok: true })
                : url.pathname === '/reviews'
                  ? { reviews: gh.reviews(repo, url.searchParams.get('run') ?? '', url.searchParams.get('environment') ?? '') }
                  : url.pathname === '/violations'
                    ? { violations: gh.violations }
                    : null;
      res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(answer ?? { error: 'no such control' }));
    } catch (err) {
      res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }));
    }
  });
});
await new Promise<void>((r) => control.listen(0, '127.0.0.1', () => r()));
console.log(JSON.stringify({ api: gh.url, control: `http://127.0.0.1:${(control.address() as { port: number }).port}` }));
const stop = async () => {
  control.close();
  await gh.stop();
  await g.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
