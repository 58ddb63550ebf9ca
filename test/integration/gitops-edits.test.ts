import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { startGitServer, type GitServer } from '../support/git-server.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * The edits GitOps repositories use, through the API into a real git server (git http-backend): a Helm
 * values key and a kustomization's images entry each land as one commit with the promotion's trailers,
 * every other line of the file as it was; a file that does not fit its edit kind is refused at
 * configuration (400) or fails the promotion with what to fix, pushing nothing.
 */
const TOKEN = 'gitops-edits-token-0123456789';
const digest = (c: string) => `sha256:${c.repeat(64)}`;

const VALUES = `# Helm values for staging (Argo CD renders charts/platform with this file)
replicaCount: 2

image:
  repository: registry.example.com/team/platform
  # set by Stageline on each promotion
  tag: "0.9" # quoted: Helm would read 0.9 as a number
  pullPolicy: IfNotPresent
`;

const KUSTOMIZATION = `# staging overlay
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

resources:
- ../../base

images:
- name: registry.example.com/team/platform # promoted by Stageline
  newTag: v0.9.0
- name: redis
  newTag: "7.2"
`;

let t: TestStack;
let g: GitServer;

beforeAll(async () => {
  t = await startTestStack();
  g = await startGitServer(TOKEN);
});
afterAll(async () => {
  await t.stop();
  await g.close();
});

/** The repository as git itself sees it (cloned from the bare repository the server serves). */
function inspect(url: string) {
  const dir = mkdtempSync(join(tmpdir(), 'stageline-edits-'));
  g.git(dir, 'clone', '-q', join(g.root, url.split('/').pop()!), 'repo');
  const repo = join(dir, 'repo');
  return {
    file: (p: string) => readFileSync(join(repo, p), 'utf8'),
    log: (fmt: string) => g.git(repo, 'log', `--format=${fmt}`),
    /** the files a commit changed */
    changed: (commit: string) => g.git(repo, 'show', '--name-only', '--format=', commit).trim().split('\n'),
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function tenantWithLine() {
  const tenant = t.tenant();
  process.env[localSecretVariable(tenant, 'git-token', 'GITOPS_TOKEN')!] = TOKEN;
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  return { tenant, u };
}

async function promote(u: Awaited<ReturnType<TestStack['users']>>, version: string, d: string) {
  expect((await t.call('POST', '/api/v1/artifacts/platform/versions', { token: u.deployer, body: { version, digest: d } })).status).toBe(201);
  const p = await t.call('POST', '/api/v1/promotions', {
    token: u.deployer,
    body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version },
  });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  return waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED'], 30_000);
}

describe('GitOps edits through the API (Helm values, Kustomize images)', () => {
  it('a Helm values key, then a kustomization images entry: each promotion is one commit with its trailers, the rest of each file unchanged', async () => {
    const { u } = await tenantWithLine();
    const url = g.repo(`edits-${t.tenant()}`, { 'charts/platform/values-staging.yaml': VALUES, 'envs/staging/kustomization.yaml': KUSTOMIZATION });

    // Helm: the values key, written in place: its quotes and comments kept.
    const helm = await t.call('PUT', '/api/v1/environments/staging/git-target', {
      token: u.admin,
      body: {
        repository: url,
        branch: 'main',
        file: 'charts/platform/values-staging.yaml',
        edit: 'helm-values',
        path: 'image.tag',
        tokenSecret: 'GITOPS_TOKEN',
      },
    });
    expect(helm.status, JSON.stringify(helm.body)).toBe(200);
    expect(helm.body).toMatchObject({ edit: 'helm-values', path: 'image.tag', value: 'version', version: 1 });
    const first = await promote(u, '1.10.0', digest('a'));
    expect(first.status, JSON.stringify(first.error)).toBe('COMPLETED');
    expect(first.result.git).toMatchObject({ repository: url, value: '1.10.0', changed: true, attempts: 1 });

    // Kustomize: the same environment now writes the images entry, tag and digest.
    const kustomize = await t.call('PUT', '/api/v1/environments/staging/git-target', {
      token: u.admin,
      body: {
        repository: url,
        branch: 'main',
        file: 'envs/staging/kustomization.yaml',
        edit: 'kustomize-image',
        path: 'registry.example.com/team/platform',
        value: 'version@digest',
        tokenSecret: 'GITOPS_TOKEN',
        version: 1,
      },
    });
    expect(kustomize.status, JSON.stringify(kustomize.body)).toBe(200);
    const second = await promote(u, '1.11.0', digest('b'));
    expect(second.status, JSON.stringify(second.error)).toBe('COMPLETED');
    expect(second.result.git).toMatchObject({ value: `1.11.0@${digest('b')}`, changed: true });

    const repo = inspect(url);
    try {
      expect(repo.file('charts/platform/values-staging.yaml')).toBe(VALUES.replace('tag: "0.9"', 'tag: "1.10.0"'));
      expect(repo.file('envs/staging/kustomization.yaml')).toBe(KUSTOMIZATION.replace('newTag: v0.9.0', `newTag: 1.11.0\n  digest: ${digest('b')}`));
      // One commit per promotion, each touching its one file, with the trailers of every git delivery.
      const commits = repo.log('%H').trim().split('\n');
      expect(commits).toEqual([second.result.git.commit, first.result.git.commit, expect.any(String)]);
      expect(repo.log('%s').trim().split('\n')).toEqual(['Promote platform 1.11.0 to staging', 'Promote platform 1.10.0 to staging', 'seed']);
      expect(repo.changed(first.result.git.commit)).toEqual(['charts/platform/values-staging.yaml']);
      expect(repo.changed(second.result.git.commit)).toEqual(['envs/staging/kustomization.yaml']);
      const bodies = repo.log('%B---');
      for (const p of [first, second]) expect(bodies).toContain(`Stageline-Promotion: ${p.id}`);
      expect(bodies).toContain(`Stageline-Digest: ${digest('b')}`);
      expect(bodies).toContain('Stageline-Decision-Digest: ');
    } finally {
      repo.done();
    }

    // The manifest says which edit (the default yaml-path is left out, as documents always had it).
    const exported = (await t.call('GET', '/api/v1/manifest?format=json', { token: u.viewer })).body.artifacts.promotion;
    expect(exported.git_targets.staging).toMatchObject({ edit: 'kustomize-image', path: 'registry.example.com/team/platform', value: 'version@digest' });
  }, 90_000);

  it('refuses at configuration an edit kind whose file is not of its type (API and manifest: 400 naming the field)', async () => {
    const { u } = await tenantWithLine();
    const url = g.repo(`refuse-${t.tenant()}`, { 'values.yaml': VALUES });
    const put = (body: Record<string, unknown>) =>
      t.call('PUT', '/api/v1/environments/staging/git-target', { token: u.admin, body: { repository: url, branch: 'main', ...body } });
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ file: 'values.yaml', edit: 'json-path', path: 'image.tag' }, 'file', /\.json/],
      [{ file: 'values.json', edit: 'helm-values', path: 'image.tag' }, 'file', /\.yaml/],
      [{ file: 'envs/staging/values.yaml', edit: 'kustomize-image', path: 'platform' }, 'file', /kustomization\.yaml/],
      [{ file: 'values.yaml', edit: 'helm-values', path: 'registry.example.com/team/platform' }, 'path', /dot-separated/],
      [{ file: 'values.yaml', edit: 'sed', path: 'image.tag' }, 'edit', /./],
    ];
    for (const [body, path, message] of cases) {
      const r = await put(body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.issues).toEqual([expect.objectContaining({ path, message: expect.stringMatching(message) })]);
    }
    expect((await t.call('GET', '/api/v1/environments/staging/git-target', { token: u.viewer })).status).toBe(404);

    const doc = {
      artifacts: {
        promotion: {
          git_targets: { staging: { repository: url, branch: 'main', file: 'values.yaml', edit: 'kustomize-image', path: 'platform' } },
        },
      },
    };
    const r = await t.call('POST', '/api/v1/manifest/plan', { token: u.admin, body: { document: JSON.stringify(doc) } });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'document.artifacts.promotion.git_targets.staging.file' })]));
  });

  it('fails the promotion with what to fix when the file on the branch does not fit (not a Kustomization; a JSON path through a non-object), pushing nothing', async () => {
    const { u } = await tenantWithLine();
    const url = g.repo(`misfit-${t.tenant()}`, {
      'envs/staging/kustomization.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: platform\n',
      'deploy/staging.json': '{\n  "image": "registry.example.com/team/platform:v0.9.0"\n}\n',
    });
    const put = await t.call('PUT', '/api/v1/environments/staging/git-target', {
      token: u.admin,
      body: {
        repository: url,
        branch: 'main',
        file: 'envs/staging/kustomization.yaml',
        edit: 'kustomize-image',
        path: 'platform',
        tokenSecret: 'GITOPS_TOKEN',
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const notKustomization = await promote(u, 'v1.0.0', digest('c'));
    expect(notKustomization.status).toBe('FAILED');
    expect(notKustomization.error.message).toContain(
      "git delivery failed: envs/staging/kustomization.yaml is a Deployment, not a Kustomization, so the image 'platform' cannot be set",
    );

    const json = await t.call('PUT', '/api/v1/environments/staging/git-target', {
      token: u.admin,
      body: { repository: url, branch: 'main', file: 'deploy/staging.json', edit: 'json-path', path: 'image.tag', tokenSecret: 'GITOPS_TOKEN', version: 1 },
    });
    expect(json.status, JSON.stringify(json.body)).toBe(200);
    const throughString = await promote(u, 'v1.0.1', digest('d'));
    expect(throughString.status).toBe('FAILED');
    expect(throughString.error.message).toContain("git delivery failed: deploy/staging.json: 'image' is not an object, so 'image.tag' cannot be set");

    const repo = inspect(url);
    try {
      expect(repo.log('%s').trim()).toBe('seed');
    } finally {
      repo.done();
    }
  }, 90_000);
});
