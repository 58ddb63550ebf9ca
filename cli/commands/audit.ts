import { Command, Option } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { verifyExport } from '../../domain/audit/verify-export.ts';
import { checkpointPublicKey, describePublicKey } from '../../domain/audit/audit.ts';
import { values, fail, int } from '../context.ts';
import type { AuditDestination, AuditDestinationList, AuditPage, AuditPublicKey, AuditVerification } from '../answers.ts';
import { api, apiText } from '../http.ts';
import { table, out, show } from '../output.ts';

/** audit */
export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description('newest audit entries; `audit verify`, `audit export`, `audit public-key`')
    .addOption(new Option('--limit <n>', 'how many').argParser(int('--limit')).default(20))
    .action(async () => {
      const r = await api<AuditPage>('GET', `/api/v1/audit?limit=${values.limit}`);
      out(r, () => table(r.items, ['at', 'actorName', 'action', 'entityId', 'reason']));
    });
  audit
    .command('export')
    .description('the chain as JSON Lines (every page), for an auditor')
    .option('--from <iso>', 'entries from')
    .option('--to <iso>', 'entries until')
    .option('-o, --output <file>', 'write it to a file')
    .action(async () => {
      // Page after page (each page: header, entries, checkpoints, trailer), into one file or stdout.
      const chunks: string[] = [];
      let fromSeq: string | null = null;
      do {
        const params: URLSearchParams = new URLSearchParams({
          ...(values.from ? { from: values.from } : {}),
          ...(values.to ? { to: values.to } : {}),
          ...(fromSeq ? { fromSeq } : {}),
        });
        const { text, headers } = await apiText(`/api/v1/audit/export?${params}`);
        chunks.push(text);
        fromSeq = headers.get('x-next-cursor');
      } while (fromSeq);
      if (values.output) {
        writeFileSync(values.output, chunks.join(''));
        const rows = chunks
          .join('')
          .split('\n')
          .filter((l) => l.startsWith('{"type":"entry"') || l.startsWith('{"type":"anchor"'));
        const entries = rows.filter((l) => l.startsWith('{"type":"entry"')).length;
        console.error(
          `wrote ${values.output}: ${entries} entries, ${rows.length - entries} signed checkpoints (verify it: stageline audit verify --file ${values.output} --public-key <pinned key.pem>)`,
        );
      } else show(chunks.join(''));
    });
  audit
    .command('public-key')
    .description('the public key that verifies every audit checkpoint and signed root (PEM): pin it once, then verify exports offline with it')
    .option('-o, --output <file>', 'write the PEM to a file')
    .option('--attestation', "your tenant's own attestation key instead (what `attestation verify --key … --tenant …` checks with)")
    .action(async () => {
      // The PEM is a document, kept exact (api() makes an answer's line breaks visible for display):
      // read raw, parsed as the P-256 key it must be, and written and printed in its canonical PEM,
      // whose key id is computed here rather than taken from the answer.
      const { text } = await apiText('/api/v1/audit/public-key');
      let r: ReturnType<typeof describePublicKey> & { signedMessage?: unknown };
      try {
        // Read as what it must be, then checked: the key is parsed and its id computed, and the two compared.
        const whole = JSON.parse(text) as Partial<Record<keyof AuditPublicKey, unknown>> & { attestation?: Record<string, unknown> | null; tenant?: string };
        if (values.attestation && !whole.attestation) throw new Error(`tenant ${whole.tenant} has no attestation key yet (none of its promotions is attested)`);
        const answer = (values.attestation ? whole.attestation : whole) as Partial<Record<keyof AuditPublicKey, unknown>>;
        r = { ...answer, ...describePublicKey(String(answer.publicKeyPem)) };
        if (answer.keyId !== r.keyId) throw new Error(`it names key ${answer.keyId} but holds ${r.keyId}`);
      } catch (err) {
        fail(`the service answered no valid audit public key: ${(err as Error).message.split('\n')[0]}`);
      }
      if (values.output) {
        writeFileSync(values.output, r.publicKeyPem);
        console.error(`wrote ${values.output}: ${r.algorithm} ${r.curve} key ${r.keyId}`);
      }
      out(r, () => {
        if (!values.output) process.stdout.write(r.publicKeyPem);
        console.error(`key id ${r.keyId} (sha256 of the DER public key: openssl pkey -pubin -in key.pem -outform der | sha256sum)`);
      });
    });
  audit
    .command('verify')
    .description('check the hash chain online (checkpoints’ signatures too), or an export offline with --file and --public-key')
    .option('-f, --file <export.jsonl>', 'verify an export offline (no access to the service needed)')
    .option('--public-key <key.pem>', 'the pinned public key (stageline audit public-key) every checkpoint signature is checked with')
    .addOption(
      new Option(
        '--min-seq <n>',
        'the chain reaches at least this link (e.g. the anchoredSeq /audit/verify showed): an export anchored short of it fails',
      ).argParser(int('--min-seq')),
    )
    .action(async () => {
      if (values.file) {
        if (!values['public-key'])
          fail('--public-key <key.pem> is needed to verify an export: get it once with `stageline audit public-key --output key.pem` and keep it');
        let key: string;
        try {
          key = readFileSync(values['public-key'], 'utf8');
          checkpointPublicKey(key);
        } catch (err) {
          fail(`--public-key ${values['public-key']}: ${(err as Error).message.split('\n')[0]} (expected the PEM that stageline audit public-key prints)`);
        }
        const v = verifyExport(readFileSync(values.file, 'utf8'), key, { minSeq: values['min-seq'] });
        out(v, () => {
          if (v.ok && !v.anchoredThrough)
            console.log(
              `export intact but empty: no link of tenant ${v.tenant ?? '?'} is signed yet (links are anchored within the anchor interval: export again)`,
            );
          else if (v.ok)
            console.log(
              `export intact: ${v.checked} entries (links ${v.firstSeq}..${v.lastSeq}) of tenant ${v.tenant}; ${v.checkpoints} checkpoint signatures verified with key ${v.keyId}; anchored through link ${v.anchoredThrough!.seq} (signed ${v.anchoredThrough!.at})`,
            );
          else for (const p of v.problems) console.log(`line ${p.line}${p.seq ? ` (link ${p.seq})` : ''}: ${p.what}`);
        });
        if (!v.ok) process.exit(1);
        return;
      }
      const r = await api<AuditVerification>('GET', '/api/v1/audit/verify');
      out(r, () =>
        console.log(
          r.ok
            ? `chain intact: ${r.checked} entries linked${r.pending ? `, ${r.pending} pending (not linked yet)` : ''}; ${r.checkpoints.count} signed checkpoints, newest at ${r.checkpoints.latestSeq}` +
                (r.unanchored
                  ? `; ${r.unanchored} links not signed yet (the oldest for ${r.anchorLagSeconds} s: roots are signed once per anchor interval)`
                  : '')
            : `BROKEN at entry ${r.firstBroken!.seq}: ${r.firstBroken!.reason}`,
        ),
      );
      if (!r.ok) process.exit(1);
    });
  registerAuditStream(audit);
}

const destinationRow = (d: AuditDestination) => ({
  name: d.name,
  kind: d.kind,
  endpoint: d.url ?? d.site ?? (d.bucket ? `s3://${d.bucket}/${d.prefix ?? ''}` : ''),
  state: d.state,
  shippedSeq: d.shippedSeq,
  lag: `${d.lag.entries} entries, ${d.lag.seconds}s`,
  lastError: d.lastError ?? '',
});

/** A secret named by the environment variable that holds it, never on the command line (shell history, process lists). */
function secretFromEnv(variable: string, what: string): string {
  const v = process.env[variable];
  if (!v) fail(`${what}: the environment variable ${variable} is not set (secrets are read from the environment, never from the command line)`);
  return v;
}

/** audit destinations …, audit replay: the audit stream into the tenant's SIEM (docs/operations/audit-stream.md). */
function registerAuditStream(audit: Command): void {
  const destinations = audit
    .command('destinations')
    .description("the audit stream's destinations (Splunk HEC, OTLP): `list`, `get`, `set`, `remove`; and `audit replay`")
    .action(async () => {
      const r = await api<AuditDestinationList>('GET', '/api/v1/audit/destinations');
      out(r, () => table(r.items.map(destinationRow), ['name', 'kind', 'endpoint', 'state', 'shippedSeq', 'lag', 'lastError']));
    });
  destinations
    .command('list')
    .description('every destination: where shipping stands and how far behind')
    .action(async () => {
      const r = await api<AuditDestinationList>('GET', '/api/v1/audit/destinations');
      out(r, () => table(r.items.map(destinationRow), ['name', 'kind', 'endpoint', 'state', 'shippedSeq', 'lag', 'lastError']));
    });
  destinations
    .command('get')
    .description('one destination, with its dead letters')
    .argument('<name>')
    .action(async (name: string) => {
      const r = await api<AuditDestination>('GET', `/api/v1/audit/destinations/${encodeURIComponent(name)}`);
      out(r, () => {
        table([destinationRow(r)], ['name', 'kind', 'endpoint', 'state', 'shippedSeq', 'lag', 'lastError']);
        if (r.deadLetters.length) {
          console.log('dead letters (fix the cause, then `stageline audit replay <name> --from-seq <fromSeq>`):');
          table(r.deadLetters, ['at', 'fromSeq', 'toSeq', 'status', 'reason']);
        }
      });
    });
  destinations
    .command('set')
    .description('set a destination (admin); its secrets come from environment variables, and are sealed by the service')
    .argument('<name>', 'a name: lower case letters, digits and -')
    .addOption(new Option('--kind <kind>', 'the SIEM').choices(['splunk', 'otlp', 'datadog', 's3']).makeOptionMandatory())
    .option('--endpoint <url>', 'splunk: the HEC base URL; otlp: the OTLP/HTTP base URL')
    .option('--token-env <var>', 'splunk: the environment variable holding the HEC token (left out: the stored token is kept)')
    .option('--index <index>', 'splunk: the index')
    .option('--sourcetype <sourcetype>', 'splunk: the sourcetype (default stageline:audit)')
    .option('--ack', 'splunk: the token asks for indexer acknowledgement')
    .option('--header-env <name=var...>', 'otlp: a header sent with every request, its value from an environment variable')
    .option('--site <site>', 'datadog: the Datadog site')
    .option('--api-key-env <var>', 'datadog: the environment variable holding the API key')
    .option('--bucket <bucket>', 's3: the bucket')
    .option('--prefix <prefix>', 's3: the key prefix')
    .action(async (name: string) => {
      const path = `/api/v1/audit/destinations/${encodeURIComponent(name)}`;
      const kept = '…';
      const body =
        values.kind === 'splunk'
          ? {
              kind: 'splunk',
              url: values.endpoint,
              token: values['token-env'] ? secretFromEnv(values['token-env'], '--token-env') : kept,
              ...(values.index ? { index: values.index } : {}),
              ...(values.sourcetype ? { sourcetype: values.sourcetype } : {}),
              ack: !!values.ack,
            }
          : values.kind === 'otlp'
            ? {
                kind: 'otlp',
                url: values.endpoint,
                headers: Object.fromEntries(
                  (values['header-env'] ?? []).map((h) => {
                    const [header, variable] = h.split('=');
                    if (!header || !variable) fail(`--header-env ${h}: give it as Name=VARIABLE`);
                    return [header, secretFromEnv(variable, `--header-env ${header}`)];
                  }),
                ),
              }
            : values.kind === 'datadog'
              ? { kind: 'datadog', site: values.site, apiKey: values['api-key-env'] ? secretFromEnv(values['api-key-env'], '--api-key-env') : kept }
              : { kind: 's3', bucket: values.bucket, ...(values.prefix ? { prefix: values.prefix } : {}) };
      const r = await api<AuditDestination>('PUT', path, body);
      out(r, () => table([destinationRow(r)], ['name', 'kind', 'endpoint', 'state', 'shippedSeq', 'lag']));
    });
  destinations
    .command('remove')
    .description('remove a destination, its secrets and its dead letters (admin)')
    .argument('<name>')
    .action(async (name: string) => {
      await api('DELETE', `/api/v1/audit/destinations/${encodeURIComponent(name)}`);
      out({ removed: name }, () => console.log(`removed destination ${name}`));
    });
  audit
    .command('replay')
    .description('ship the audit chain again to a destination from a seq (and let a failing one ship again) (admin)')
    .argument('<name>')
    .addOption(new Option('--from-seq <n>', 'the chain seq to ship again from (1: the whole chain)').argParser(int('--from-seq')).makeOptionMandatory())
    .action(async (name: string) => {
      const r = await api<AuditDestination>('POST', `/api/v1/audit/destinations/${encodeURIComponent(name)}/replay`, { fromSeq: values['from-seq'] });
      out(r, () => console.log(`${name}: shipping again from seq ${values['from-seq']} (${r.lag.entries} entries behind)`));
    });
}
