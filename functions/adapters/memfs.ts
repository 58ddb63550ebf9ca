/**
 * A small in-memory file system with the promise API isomorphic-git asks for (readFile, writeFile,
 * unlink, readdir, mkdir, rmdir, stat, lstat): a git working copy that lives in one Map, so the
 * promotion step needs no disk (Lambda's /tmp stays untouched) and leaves nothing behind.
 */
type Node = { kind: 'file'; data: Uint8Array; mtimeMs: number; mode: number } | { kind: 'dir'; mtimeMs: number };

const fsError = (code: string, path: string) => Object.assign(new Error(`${code}: ${path}`), { code });

function norm(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (!seg || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}
const parent = (p: string) => norm(p.slice(0, p.lastIndexOf('/')) || '/');

class Stats {
  readonly size: number;
  readonly mode: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly uid = 1;
  readonly gid = 1;
  readonly dev = 1;
  readonly ino: number;
  constructor(
    private readonly node: Node,
    ino: number,
  ) {
    this.size = node.kind === 'file' ? node.data.length : 0;
    this.mode = node.kind === 'file' ? node.mode : 0o40755;
    this.mtimeMs = node.mtimeMs;
    this.ctimeMs = node.mtimeMs;
    this.ino = ino;
  }
  isFile() {
    return this.node.kind === 'file';
  }
  isDirectory() {
    return this.node.kind === 'dir';
  }
  isSymbolicLink() {
    return false;
  }
}

export class MemFs {
  private readonly nodes = new Map<string, Node>([['/', { kind: 'dir', mtimeMs: Date.now() }]]);
  /** bytes held, bounded (a hostile remote cannot fill the function's memory) */
  private bytes = 0;

  constructor(private readonly maxBytes = 256 * 1024 * 1024) {}

  private dir(p: string): void {
    const n = this.nodes.get(p);
    if (!n) throw fsError('ENOENT', p);
    if (n.kind !== 'dir') throw fsError('ENOTDIR', p);
  }

  readonly promises = {
    readFile: async (path: string, opts?: string | { encoding?: string }) => {
      const n = this.nodes.get(norm(path));
      if (!n) throw fsError('ENOENT', path);
      if (n.kind !== 'file') throw fsError('EISDIR', path);
      const enc = typeof opts === 'string' ? opts : opts?.encoding;
      return enc ? Buffer.from(n.data).toString(enc as BufferEncoding) : Buffer.from(n.data);
    },
    writeFile: async (path: string, data: string | Uint8Array, opts?: string | { encoding?: string; mode?: number }) => {
      const p = norm(path);
      this.dir(parent(p));
      const existing = this.nodes.get(p);
      if (existing?.kind === 'dir') throw fsError('EISDIR', path);
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
      this.bytes += bytes.length - (existing?.kind === 'file' ? existing.data.length : 0);
      if (this.bytes > this.maxBytes) throw fsError('ENOSPC', path);
      const mode = typeof opts === 'object' && opts?.mode ? opts.mode : 0o100644;
      this.nodes.set(p, { kind: 'file', data: bytes, mtimeMs: Date.now(), mode });
    },
    unlink: async (path: string) => {
      const p = norm(path);
      const n = this.nodes.get(p);
      if (!n) throw fsError('ENOENT', path);
      if (n.kind !== 'file') throw fsError('EPERM', path);
      this.bytes -= n.data.length;
      this.nodes.delete(p);
    },
    readdir: async (path: string) => {
      const p = norm(path);
      this.dir(p);
      const prefix = p === '/' ? '/' : `${p}/`;
      return [...this.nodes.keys()].filter((k) => k !== p && k.startsWith(prefix) && !k.slice(prefix.length).includes('/')).map((k) => k.slice(prefix.length));
    },
    mkdir: async (path: string) => {
      const p = norm(path);
      if (this.nodes.has(p)) throw fsError('EEXIST', path);
      this.dir(parent(p));
      this.nodes.set(p, { kind: 'dir', mtimeMs: Date.now() });
    },
    rmdir: async (path: string) => {
      const p = norm(path);
      this.dir(p);
      if ((await this.promises.readdir(p)).length) throw fsError('ENOTEMPTY', path);
      this.nodes.delete(p);
    },
    stat: async (path: string) => this.stat(path),
    lstat: async (path: string) => this.stat(path),
    // A symbolic link is kept as a file of mode 120000 holding its target (git stores it so too).
    readlink: async (path: string) => {
      const n = this.nodes.get(norm(path));
      if (!n || n.kind !== 'file' || n.mode !== 0o120000) throw fsError('EINVAL', path);
      return Buffer.from(n.data).toString('utf8');
    },
    symlink: async (target: string, path: string) => this.promises.writeFile(path, target, { mode: 0o120000 }),
  };

  private stat(path: string): Stats {
    const p = norm(path);
    const n = this.nodes.get(p);
    if (!n) throw fsError('ENOENT', path);
    let ino = 0;
    for (const c of p) ino = (ino * 31 + c.charCodeAt(0)) >>> 0;
    return new Stats(n, ino);
  }
}
