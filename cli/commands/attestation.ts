import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import type { DsseEnvelope } from '../../domain/attestation/dsse.ts';
import { verifyAttestation } from '../../domain/attestation/verify.ts';
import { fail, q, values } from '../context.ts';
import { apiText } from '../http.ts';
import { out } from '../output.ts';

/** GET /audit/public-key: the tenant's own attestation key under `attestation` (the top-level key signs the Merkle anchor only). */
interface PublicKeys {
  tenant: string;
  attestation: { tenant: string; publicKeyPem: string } | null;
}

interface AttestationAnswer {
  envelope: DsseEnvelope;
  statement: { subject: { name: string; digest: { sha256: string } }[]; predicate: { verificationResult: string; stageline?: { tenant?: string } } };
  keyId: string;
  verified: boolean;
}

/** attestation: a promotion's signed SLSA verification summary, fetched, or checked with the public key alone (domain/attestation/verify.ts) */
export function registerAttestation(program: Command): void {
  const attestation = program
    .command('attestation')
    .description("a promotion's signed SLSA verification summary (DSSE envelope): `attestation get`, `attestation verify`");
  attestation
    .command('get')
    .description('the DSSE envelope of an ended promotion (JSON), to keep or to verify later; --output writes the envelope alone to a file')
    .argument('<promotionId>')
    .option('-o, --output <envelope.json>', 'write the envelope to this file')
    .action(async (id: string) => {
      // Read raw (the envelope is written exactly as signed), then shown as --json or people's view.
      const r = JSON.parse((await apiText(`/api/v1/promotions/${q(id)}/attestation`)).text) as AttestationAnswer;
      if (values.output) {
        writeFileSync(values.output, JSON.stringify(r.envelope, null, 2) + '\n');
        console.error(`wrote ${values.output}: ${r.statement.predicate.verificationResult}, signed with key ${r.keyId}`);
        return;
      }
      out(r, () => console.log(JSON.stringify(r.envelope, null, 2)));
    });
  attestation
    .command('verify')
    .description("check an attestation's signature and statement with its tenant's attestation public key alone: a promotion's (fetched), or a file's")
    .argument('[promotionId]')
    .option('-f, --file <envelope.json>', 'verify this envelope (as `attestation get --output` writes it) instead of fetching one')
    .option(
      '--key <public-key.pem>',
      "the tenant's attestation public key (PEM or JWK; `stageline audit public-key --attestation --output key.pem`); fetched from the service, with the tenant, when left out",
    )
    .option('--tenant <tenant>', 'the tenant whose statement it must be (required with --key: a key file does not say whose it is)')
    .option('--digest <sha256:hex>', 'the release digest the statement must be about (an admission check: the image you are about to run)')
    .option('--env <env>', 'the environment the statement must say the release PASSED into (an admission check: e.g. production)')
    .action(async (id: string | undefined) => {
      if (!id && !values.file) fail('name a promotion, or an envelope with --file <envelope.json>');
      // Every check is told which tenant it expects: a key file says nothing of whose it is.
      if (values.key && !values.tenant) fail("--key needs --tenant <tenant>: the tenant whose statement it must be (another tenant's is refused)");
      let envelope: unknown;
      if (values.file) {
        try {
          envelope = JSON.parse(readFileSync(values.file, 'utf8'));
        } catch (err) {
          fail(`cannot read ${values.file}: ${(err as Error).message.split('\n')[0]}`);
        }
        // A whole `attestation get` answer holds the envelope under `envelope`.
        if (envelope && typeof envelope === 'object' && 'envelope' in envelope) envelope = (envelope as { envelope: unknown }).envelope;
      } else envelope = (JSON.parse((await apiText(`/api/v1/promotions/${q(id!)}/attestation`)).text) as AttestationAnswer).envelope;
      let key: string;
      let tenant: string;
      if (values.key) {
        try {
          key = readFileSync(values.key, 'utf8');
        } catch (err) {
          fail(`--key ${values.key}: ${(err as Error).message.split('\n')[0]}`);
        }
        tenant = values.tenant!;
      } else {
        // Read raw: what people are shown has its control characters made visible, a PEM's line breaks included.
        const answer = JSON.parse((await apiText('/api/v1/audit/public-key')).text) as PublicKeys;
        if (!answer.attestation) fail(`tenant ${answer.tenant} has no attestation key yet: none of its promotions is attested`);
        if (values.tenant && values.tenant !== answer.attestation.tenant)
          fail(`--tenant ${values.tenant}, but this session is tenant ${answer.attestation.tenant}: verify with that tenant's key (--key)`);
        key = answer.attestation.publicKeyPem;
        tenant = answer.attestation.tenant;
      }
      let v: ReturnType<typeof verifyAttestation>;
      try {
        v = verifyAttestation(envelope, key, {
          tenant,
          ...(id ? { promotionId: id } : {}),
          ...(values.digest ? { subjectDigest: values.digest } : {}),
        });
      } catch (err) {
        fail(`the key is not an attestation key's kind (ECDSA P-256 public key, PEM or JWK): ${(err as Error).message.split('\n')[0]}`);
      }
      // An admission check: a PASSED promotion into the environment named, not a rollback.
      const into = values.env;
      let refused: string | null = null;
      if (v.ok && into) {
        const own = v.statement.predicate.stageline;
        const why =
          own.targetEnvironment !== into
            ? `the statement is about a promotion into '${own.targetEnvironment}', not '${into}'`
            : v.statement.predicate.verificationResult !== 'PASSED'
              ? `the promotion into '${into}' did not pass (${v.statement.predicate.verificationResult})`
              : own.rollbackOf !== undefined
                ? `the statement is about a rollback into '${into}', not a promotion`
                : null;
        refused = why;
      }
      const result = !v.ok
        ? { ok: false, reason: v.reason, message: v.message, keyId: v.keyId }
        : refused
          ? { ok: false, reason: 'environment', message: refused, keyId: v.keyId }
          : {
              ok: true,
              keyId: v.keyId,
              result: v.statement.predicate.verificationResult,
              subject: v.statement.subject,
              promotionId: v.statement.predicate.stageline.promotionId,
              tenant: v.statement.predicate.stageline.tenant,
              environment: v.statement.predicate.stageline.targetEnvironment,
            };
      out(result, () =>
        console.log(
          !v.ok
            ? `attestation NOT verified (${v.reason}): ${v.message}`
            : refused
              ? `attestation verified but NOT admitted (environment): ${refused}`
              : `attestation verified: promotion ${v.statement.predicate.stageline.promotionId} into ${v.statement.predicate.stageline.targetEnvironment} ${v.statement.predicate.verificationResult} for ${v.statement.subject.map((s) => `${s.name} sha256:${s.digest.sha256}`).join(', ')}; signed with key ${v.keyId}`,
        ),
      );
      if (!result.ok) process.exit(1);
    });
}
