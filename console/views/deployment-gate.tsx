import { useState } from 'preact/hooks';
import { api, ApiError, q } from '../api.ts';
import { Time } from '../ui.tsx';

/**
 * An environment's deployment gate, on its page (GET /api/v1/environments/{env}/deployment-gate): which GitHub
 * repository environment's deploy jobs wait on promotions into it, through which App, and the webhook URL to give the
 * App. Read when opened (the page's first load makes no call for it); set with `stageline deployment-gate set` or the API.
 */
interface Gate {
  host: 'github' | 'gitlab';
  repository: string;
  hostEnvironment: string;
  source: string | null;
  artifact: string | null;
  app: { id: string; apiUrl: string | null; privateKeySecret: string; webhookSecret: string } | null;
  gitlab: { apiUrl: string | null; tokenSecret: string; webhookSecret: string } | null;
  webhookUrl: string;
  updatedAt: string;
  updatedBy: string;
}

export function DeploymentGatePanel({ env }: { env: string }) {
  /** undefined: not read yet; null: none */
  const [gate, setGate] = useState<Gate | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const open = async (e: Event) => {
    if (!(e.currentTarget as HTMLDetailsElement).open || gate !== undefined) return;
    try {
      setGate(await api<Gate>('GET', `api/v1/environments/${q(env)}/deployment-gate`));
    } catch (err) {
      if ((err as ApiError).status === 404) setGate(null);
      else setError((err as ApiError).message);
    }
  };
  return (
    <details class="gate" onToggle={open}>
      <summary>Deployment gate (pipeline jobs that wait on Stageline)</summary>
      {error && <p role="alert">{error}</p>}
      {gate === null && (
        <p>
          No pipeline waits on promotions into {env}. Set one with <code>stageline deployment-gate set {env}</code>.
        </p>
      )}
      {gate && (
        <dl>
          <dt>Jobs of</dt>
          <dd>
            <code>{gate.repository}</code>, environment <code>{gate.hostEnvironment}</code> ({gate.host === 'github' ? 'GitHub Actions' : 'GitLab'})
          </dd>
          <dt>Wait on</dt>
          <dd>
            a promotion {gate.source ? `from ${gate.source}` : 'from the environment before it'}
            {gate.artifact ? ` of ${gate.artifact} (the version published from the job's commit)` : ''}
          </dd>
          <dt>{gate.app ? 'GitHub App' : 'GitLab'}</dt>
          <dd>
            {gate.app ? gate.app.id : (gate.gitlab?.apiUrl ?? 'gitlab.com')}
            {gate.app?.apiUrl ? ` at ${gate.app.apiUrl}` : ''} · {gate.app ? 'key' : "approver's token"} in secret{' '}
            <code>{gate.app ? gate.app.privateKeySecret : gate.gitlab?.tokenSecret}</code>, webhook secret{' '}
            <code>{(gate.app ?? gate.gitlab)?.webhookSecret}</code>
          </dd>
          <dt>Webhook URL</dt>
          <dd>
            <code>{gate.webhookUrl}</code>
          </dd>
          <dt>Changed</dt>
          <dd>
            <Time at={gate.updatedAt} /> by {gate.updatedBy}
          </dd>
        </dl>
      )}
    </details>
  );
}
