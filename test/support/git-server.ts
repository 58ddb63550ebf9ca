import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A real git HTTP server for the tests: `git http-backend` (the CGI program git ships) behind a small
 * node:http server on loopback, serving bare repositories from a temporary folder, with Basic
 * authentication by token (any user name, the token as password) as hosted git services take it.
 */
export interface GitServer {
  url: string;
  root: string;
  /** creates a bare repository `<name>.git` whose `main` holds these files (one commit) */
  repo(name: string, files: Record<string, string>): string;
  /** runs git with the given arguments in `cwd` */
  git(cwd: string, ...args: string[]): string;
  /** called before a push reaches http-backend (e.g. to move the branch meanwhile) */
  beforePush?: () => void;
  pushes: number;
  close(): Promise<void>;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.test',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.test',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: tmpdir(),
};

export async function startGitServer(token: string): Promise<GitServer> {
  const root = mkdtempSync(join(tmpdir(), 'stageline-git-'));
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' });
  const self: Partial<GitServer> = { root, git, pushes: 0 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const auth = req.headers.authorization ?? '';
    const password = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString().split(':').slice(1).join(':') : '';
    if (password !== token) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
      return res.end('authentication required');
    }
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST' && url.pathname.endsWith('/git-receive-pack')) {
      self.pushes!++;
      self.beforePush?.();
    }
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...GIT_ENV,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: 'stageline',
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      },
    });
    req.pipe(cgi.stdin);
    const out: Buffer[] = [];
    cgi.stdout.on('data', (c: Buffer) => out.push(c));
    cgi.on('close', () => {
      const all = Buffer.concat(out);
      const end = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, end).toString('utf8');
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.end(all.subarray(end + 4));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return Object.assign(self, {
    url,
    repo(name: string, files: Record<string, string>) {
      const bare = join(root, `${name}.git`);
      git(root, 'init', '-q', '--bare', '-b', 'main', bare);
      git(bare, 'config', 'http.receivepack', 'true');
      const work = mkdtempSync(join(tmpdir(), 'stageline-seed-'));
      git(work, 'init', '-q', '-b', 'main');
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(work, path)), { recursive: true });
        writeFileSync(join(work, path), text);
      }
      git(work, 'add', '-A');
      git(work, 'commit', '-q', '-m', 'seed');
      git(work, 'push', '-q', bare, 'main');
      rmSync(work, { recursive: true, force: true });
      return `${url}/${name}.git`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())).then(() => rmSync(root, { recursive: true, force: true })),
  }) as GitServer;
}
