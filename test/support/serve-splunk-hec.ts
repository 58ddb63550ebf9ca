import { createServer } from 'node:http';
import { startSplunkHecStandin } from './splunk-hec-standin.ts';

/**
 * The guide's Splunk HTTP Event Collector stand-in (docs/guide/30-audit-stream.md): the stand-in held to HEC's published
 * format and acknowledgement (test/support/splunk-hec-standin.ts), its token asking for acknowledgement. Prints one JSON
 * line ({url, token, control}), then serves until stopped. A small control endpoint plays Splunk's side:
 *   GET  /events            what was indexed: [{seq, hash, prevHash, action, sourcetype, index}]
 *   POST /outage {"on":true} answer 503 "Server is busy" (false: back)
 *   GET  /violations        what broke HEC's format (none expected), and every body received that holds the token
 *
 * usage: tsx test/support/serve-splunk-hec.ts
 */
const hec = await startSplunkHecStandin({ ack: true });
const control = createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    const body = raw ? (JSON.parse(raw) as { on?: boolean }) : {};
    if (req.url === '/outage') hec.outage = body.on === true;
    const answer =
      req.url === '/events'
        ? hec.events.map((e) => ({
            seq: e.event.seq,
            hash: e.event.hash,
            prevHash: e.event.prevHash,
            action: e.event.entry.action,
            sourcetype: e.sourcetype,
            index: e.index,
          }))
        : req.url === '/outage'
          ? { outage: hec.outage, busy: hec.busy }
          : req.url === '/violations'
            ? { violations: hec.violations, bodiesWithToken: hec.bodies.filter((b) => b.includes(hec.token)).length }
            : null;
    res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(answer ?? { error: 'no such control' }));
  });
});
await new Promise<void>((r) => control.listen(0, '127.0.0.1', () => r()));
console.log(JSON.stringify({ url: hec.url, token: hec.token, control: `http://127.0.0.1:${(control.address() as { port: number }).port}` }));
const stop = async () => {
  control.close();
  await hec.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
