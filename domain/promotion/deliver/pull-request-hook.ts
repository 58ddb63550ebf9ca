import { hookEvent, hookRefusal, signedWith } from '../../kernel/hooks.ts';
import type { With } from '../../kernel/deps.ts';
import { promotionOfHead, refreshPullRequest } from './pull-request.ts';

/**
 * The pull-request host's webhook (POST /api/v1/gitops/hooks/{tenant}/{env}): GitHub or GitLab says a
 * pull request, its checks or its pipeline changed. The route names the tenant and the environment,
 * so the hook is bound to one tenant's git target: it is verified with that target's webhook secret
 * (GitHub X-Hub-Signature-256, an HMAC-SHA256 of the body; GitLab X-Gitlab-Token), its repository
 * must be that target's, and only that tenant's promotions are looked at. The payload names the
 * branch; what the pull request is (merged, closed, its checks) is read from the host's API.
 */
export interface HookAnswer {
  status: number;
  body:
    | { error: { code: string; message: string } }
    | { event: string; promotions: { id: string; pullRequest: string | null; status: string }[]; ignored?: string };
}

const refuse = (status: number, code: string, message: string): HookAnswer => hookRefusal(status, code, message);

/** `owner/repo` or `group/project`, lower-cased, of a repository URL. */
const pathOf = (url: string) => {
  try {
    return new URL(url).pathname
      .replace(/^\/+|\/+$/g, '')
      .replace(/\.git$/, '')
      .toLowerCase();
  } catch {
    return '';
  }
};

type Json = Record<string, any>;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The head branches a GitHub or GitLab event is about. */
function headsOf(host: 'github' | 'gitlab', event: string, b: Json): string[] {
  const list: (string | null)[] = [];
  if (host === 'github') {
    list.push(str(b.pull_request?.head?.ref), str(b.check_suite?.head_branch), str(b.check_run?.check_suite?.head_branch));
    for (const pr of [...(b.check_run?.pull_requests ?? []), ...(b.check_suite?.pull_requests ?? [])]) list.push(str(pr?.head?.ref));
    if (event === 'status') for (const br of Array.isArray(b.branches) ? b.branches : []) list.push(str(br?.name));
  } else {
    list.push(str(b.object_attributes?.source_branch), str(b.merge_request?.source_branch));
    if (b.object_kind === 'pipeline') list.push(str(b.object_attributes?.ref));
  }
  return [...new Set(list.filter((h): h is string => !!h))];
}

export async function pullRequestHook(
  deps: With<'git' | 'workflow' | 'secrets'>,
  req: { tenant: string; environment: string; headers: Record<string, string | undefined>; body: Buffer },
): Promise<HookAnswer> {
  const { tenant, environment } = req;
  // Until the hook is verified it answers one thing, whatever is missing: no target, no pull-request mode, no
  // secret, or a wrong signature. A different answer for an unknown tenant or environment would tell a caller
  // which exist.
  const unverified = refuse(
    401,
    'UNAUTHORIZED',
    'the webhook does not verify: its X-Hub-Signature-256 (GitHub) or X-Gitlab-Token (GitLab) does not match this hook',
  );
  const target = await deps.store.getGitTarget(tenant, environment);
  const pr = target?.pullRequest;
  if (!target || !pr?.webhookSecret) return unverified;
  const secret = await deps.secrets.resolve(tenant, pr.webhookSecret, 'git-webhook');
  if (!secret) return unverified;
  const h = (name: string) => req.headers[name] ?? req.headers[name.toLowerCase()];
  if (!signedWith(pr.host, h, req.body, secret)) return unverified;
  let b: Json;
  try {
    b = JSON.parse(req.body.toString('utf8')) as Json;
    if (!b || typeof b !== 'object' || Array.isArray(b)) throw new Error('not an object');
  } catch {
    return refuse(400, 'VALIDATION_FAILED', 'the body is not a JSON object');
  }
  const event = hookEvent(pr.host, h) ?? str(b.object_kind) ?? 'unknown';
  if (event === 'ping') return { status: 200, body: { event, promotions: [] } };
  const theirs = pr.host === 'github' ? (str(b.repository?.full_name) ?? '') : (str(b.project?.path_with_namespace) ?? '');
  if (!theirs)
    return refuse(
      400,
      'VALIDATION_FAILED',
      `the payload names no repository (${pr.host === 'github' ? 'repository.full_name' : 'project.path_with_namespace'})`,
    );
  // Bound to this tenant's target: a hook about any other repository (another tenant's, say) is refused.
  if (theirs.toLowerCase() !== pathOf(target.repository))
    return refuse(404, 'NOT_FOUND', `'${theirs}' is not the repository of this tenant's git target of '${environment}'`);
  const ids = headsOf(pr.host, event, b)
    .map(promotionOfHead)
    .filter((id): id is string => !!id);
  if (!ids.length) return { status: 202, body: { event, promotions: [], ignored: 'not about a branch Stageline opened' } };
  const promotions: { id: string; pullRequest: string | null; status: string }[] = [];
  for (const id of ids.slice(0, 10)) {
    const p = await deps.store.getPromotion(tenant, id);
    if (!p || p.targetEnvironment !== environment) continue;
    const r = await refreshPullRequest(deps, tenant, id);
    promotions.push({ id, pullRequest: r.pullRequest?.state ?? null, status: r.status });
  }
  return { status: promotions.length ? 200 : 202, body: { event, promotions, ...(promotions.length ? {} : { ignored: 'no promotion of this environment' }) } };
}
