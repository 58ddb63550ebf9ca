import { Command, Option } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { verifyExport } from '../../domain/audit/verify-export.ts';
import { checkpointPublicKey, describePublicKey } from '../../domain/audit/audit.ts';
import { values, fail, int } from '../context.ts';
import type { AuditPage, AuditPublicKey, AuditVerification } from '../answers.ts';
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
}
