import { createServer } from 'node:http';
import { startServiceNowStandin } from './servicenow-standin.ts';

/**
 * The guide's ServiceNow stand-in (docs/guide/29-change-requests.md): the Table API stand-in held to the published
 * description (servicenow-standin.ts), taking basic authentication with this user and password. Prints one JSON line
 * (where it listens), then serves until stopped. A small control endpoint plays the change board:
 *   POST /approve {"number", "start"?, "end"?}   approve the request (state Scheduled), with a planned window
 *   POST /reject  {"number", "reason"}           reject it (approval rejected, the board's reason)
 *   POST /cancel  {"number", "reason"}           cancel it (state Canceled)
 *   GET  /requests                               every request: number, state, approval, close code, work notes
 *   GET  /violations                             what broke ServiceNow's published description (none expected)
 *
 * usage: tsx test/support/serve-servicenow.ts <user> <password>
 */
const [user, password] = process.argv.slice(2);
if (!user || !password) {
  console.error('usage: serve-servicenow.ts <user> <password>');
  process.exit(2);
}
const sn = await startServiceNowStandin({ user, password });
const control = createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    try {
      const body = raw ? JSON.parse(raw) : {};
      const window = body.start && body.end ? { start: new Date(body.start), end: new Date(body.end) } : undefined;
      const answer =
        req.url === '/approve'
          ? (sn.approve(String(body.number), window), { approved: body.number })
          : req.url === '/reject'
            ? (sn.reject(String(body.number), String(body.reason ?? '')), { rejected: body.number })
            : req.url === '/cancel'
              ? (sn.cancel(String(body.number), String(body.reason ?? '')), { cancelled: body.number })
              : req.url === '/requests'
                ? sn.records.map((r) => ({
                    number: r.number,
                    correlation_id: r.correlation_id,
                    sys_created_by: r.sys_created_by,
                    state: r.state,
                    approval: r.approval,
                    close_code: r.close_code,
                    notes: r.notes,
                  }))
                : req.url === '/violations'
                  ? { violations: sn.violations }
                  : null;
      res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(answer ?? { error: 'no such control' }));
    } catch (err) {
      res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }));
    }
  });
});
await new Promise<void>((r) => control.listen(0, '127.0.0.1', () => r()));
console.log(JSON.stringify({ instance: sn.url, control: `http://127.0.0.1:${(control.address() as { port: number }).port}` }));
const stop = async () => {
  control.close();
  await sn.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
