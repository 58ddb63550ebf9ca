import { build } from 'esbuild';
import { join } from 'node:path';
const ROOT = process.cwd();
const [name, target] = process.argv.slice(2);
const r = await build({ entryPoints: [join(ROOT, 'functions', name!)], bundle: true, minify: true, platform: 'node', target: 'node22', format: 'esm', mainFields: ['module', 'main'], metafile: true, write: false, outfile: '/tmp/x.mjs', logLevel: 'silent', alias: { '@aws-sdk/credential-provider-node': join(ROOT, 'functions', 'adapters', 'lambda-credentials.ts') }, define: { 'process.env.STAGELINE_TRACE_SDK': '"false"' } });
const inputs = r.metafile.inputs;
const entry = Object.keys(inputs).find((k) => k.endsWith(name!))!;
const prev = new Map<string, string>(); const q = [entry]; prev.set(entry, '');
while (q.length) { const cur = q.shift()!; for (const im of inputs[cur]?.imports ?? []) { if (!prev.has(im.path) && inputs[im.path]) { prev.set(im.path, cur); q.push(im.path); } } }
const hit = [...prev.keys()].find((k) => k.includes(target!));
let x = hit; const chain = []; while (x) { chain.push(x); x = prev.get(x); }
console.log(chain.reverse().join('\n  -> '));
