import { q } from '../api.ts';
import { Badge, usePoll } from '../ui.tsx';

/**
 * A promotion's signed verification summary (GET /promotions/{id}/attestation): whether it verifies now with
 * the audit key, what it says, the envelope to download, and the command that checks it offline. Shown once
 * the promotion completed or was rolled back (the stream signs it within seconds of that).
 */
const SIGNED = new Set(['COMPLETED', 'ROLLED_BACK']);

export function Attestation({ p }: { p: { id: string; status: string } }) {
  const { data, error } = usePoll<any>(SIGNED.has(p.status) ? `api/v1/promotions/${q(p.id)}/attestation` : null, 5000);
  if (!SIGNED.has(p.status)) return null;
  const download = () => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([JSON.stringify(data.envelope, null, 2) + '\n'], { type: 'application/json' }));
    a.download = `${p.id}-attestation.json`;
    a.click();
  };
  const predicate = data?.statement?.predicate;
  return (
    <section aria-labelledby="attestation">
      <h3 id="attestation">Signed verification summary</h3>
      {!data ? (
        <p class="mut">{error ? 'Not signed yet: it is signed within seconds of the end.' : 'Reading…'}</p>
      ) : (
        <>
          <p>
            <Badge tone={data.verified ? 'ok' : 'bad'}>{data.verified ? 'verified' : 'does not verify'}</Badge> {predicate?.verificationResult} into{' '}
            {predicate?.stageline?.targetEnvironment}, about{' '}
            {(data.statement?.subject ?? []).map((s: any, i: number) => (
              <span key={s.name}>
                {i > 0 && ', '}
                <code>
                  {s.name} sha256:{String(s.digest?.sha256).slice(0, 12)}…
                </code>
              </span>
            ))}
            <span class="mut"> — signed with key {String(data.keyId).slice(0, 19)}…</span>
          </p>
          {data.verification && <p class="notice bad">{data.verification.message}</p>}
          <p>
            <button type="button" class="link" onClick={download}>
              Download the attestation (DSSE envelope, JSON)
            </button>
          </p>
          <p class="mut">
            Check it offline with your tenant's attestation key (<code>stageline audit public-key --attestation --output key.pem</code>):{' '}
            <code>
              stageline attestation verify --file {p.id}-attestation.json --key key.pem --tenant {predicate?.stageline?.tenant ?? '<tenant>'}
            </code>
          </p>
        </>
      )}
    </section>
  );
}
