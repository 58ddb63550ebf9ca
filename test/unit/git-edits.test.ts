import { describe, expect, it } from 'vitest';
import { editFile, GitEditConflict, setValue } from '../../domain/gitops/edit.ts';
import { gitEditIssues } from '../../domain/gitops/service.ts';
import type { GitTarget } from '../../domain/gitops/ports.ts';

/** The edits GitOps repositories use (domain/gitops/edit.ts): each keeps every line it does not change, byte for byte. */
const DIGEST = `sha256:${'a'.repeat(64)}`;
type T = Pick<GitTarget, 'edit' | 'file' | 'path' | 'value'>;

/** The lines of `after` that differ from `before` (same line count assumed). */
const changedLines = (before: string, after: string) => {
  const a = before.split('\n');
  const b = after.split('\n');
  return b.flatMap((line, i) => (line === a[i] ? [] : [[a[i], line]]));
};

const KUSTOMIZATION = `# production overlay: Argo CD renders this directory
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

resources:
- ../../base # the shared base
- ingress.yaml

images:
- name: registry.example.com/team/platform # promoted by Stageline
  newTag: v0.9.0
- name: redis
  newName: mirror.example.com/redis
  newTag: "7.2"
commonAnnotations:
  example.com/owner: "platform team, reachable on the on-call rota; this sentence is deliberately longer than eighty columns"
`;

describe('kustomize-image edit', () => {
  const target = (value: GitTarget['value'], path = 'registry.example.com/team/platform'): T => ({
    edit: 'kustomize-image',
    file: 'envs/production/kustomization.yaml',
    path,
    value,
  });

  it('sets newTag of the named images entry, keeping comments, blank lines, list indentation and long lines; again: no change', () => {
    const r = editFile(target('version'), KUSTOMIZATION, 'v1.2.3');
    expect(r.changed).toBe(true);
    expect(r.previous).toEqual({ newTag: 'v0.9.0', digest: undefined });
    expect(changedLines(KUSTOMIZATION, r.text)).toEqual([['  newTag: v0.9.0', '  newTag: v1.2.3']]);
    expect(r.text).toBe(KUSTOMIZATION.replace('newTag: v0.9.0', 'newTag: v1.2.3'));
    expect(editFile(target('version'), r.text, 'v1.2.3')).toMatchObject({ changed: false, text: r.text });
  });

  it('writes the digest (dropping a tag it would otherwise leave stale), or both tag and digest', () => {
    const byDigest = editFile(target('digest'), KUSTOMIZATION, DIGEST).text;
    expect(byDigest).toBe(KUSTOMIZATION.replace('newTag: v0.9.0', `digest: ${DIGEST}`));
    const both = editFile(target('version@digest'), KUSTOMIZATION, `v1.2.3@${DIGEST}`).text;
    expect(both).toBe(KUSTOMIZATION.replace('newTag: v0.9.0', `newTag: v1.2.3\n  digest: ${DIGEST}`));
    // Back to a tag alone: the digest would pin the old image, so it goes.
    expect(editFile(target('version'), both, 'v1.2.4').text).toBe(KUSTOMIZATION.replace('newTag: v0.9.0', 'newTag: v1.2.4'));
    // newName is the entry's own: left as it is.
    expect(editFile(target('version', 'redis'), KUSTOMIZATION, '7.4').text).toBe(KUSTOMIZATION.replace('newTag: "7.2"', 'newTag: "7.4"'));
  });

  it('adds the entry, or the images list, when missing', () => {
    const added = editFile(target('version', 'nginx'), KUSTOMIZATION, '1.27');
    expect(added).toMatchObject({ changed: true, previous: undefined });
    expect(added.text).toBe(KUSTOMIZATION.replace('commonAnnotations:', '- name: nginx\n  newTag: "1.27"\ncommonAnnotations:'));
    const bare = 'kind: Kustomization\nresources:\n  - deployment.yaml # indented lists stay indented\n';
    expect(editFile({ ...target('version'), file: 'kustomization.yml' }, bare, 'v2').text).toBe(
      `${bare}images:\n  - name: registry.example.com/team/platform\n    newTag: v2\n`,
    );
  });

  it('adding an entry, the list, or dropping a stale digest changes only those lines: the rest keeps its own spacing (`../../base   # the shared base`)', () => {
    const spaced = KUSTOMIZATION.replace('../../base # the shared base', '../../base   # the shared base').replace(
      'newTag: "7.2"',
      'newTag:  "7.2"    # pinned',
    );
    const added = editFile(target('version', 'nginx'), spaced, '1.27').text;
    expect(added).toBe(spaced.replace('commonAnnotations:', '- name: nginx\n  newTag: "1.27"\ncommonAnnotations:'));
    const noList = spaced.replace(/\nimages:[\s\S]*?(?=commonAnnotations)/, '\n');
    expect(editFile(target('version'), noList, 'v2').text).toBe(`${noList}images:\n- name: registry.example.com/team/platform\n  newTag: v2\n`);
    const both = spaced.replace('newTag: v0.9.0', `newTag: v0.9.0\n  digest: ${DIGEST}`);
    expect(editFile(target('version'), both, 'v1.0.0').text).toBe(spaced.replace('newTag: v0.9.0', 'newTag: v1.0.0'));
  });

  it('refuses a file that is not a kustomization, and images that are not a list', () => {
    expect(() => editFile({ ...target('version'), file: 'deploy/values.yaml' }, KUSTOMIZATION, 'v1')).toThrow(/not a kustomization\.yaml/);
    expect(() => editFile(target('version'), 'apiVersion: apps/v1\nkind: Deployment\n', 'v1')).toThrow(/is a Deployment, not a Kustomization/);
    expect(() => editFile(target('version'), 'kind: Kustomization\nimages: nginx\n', 'v1')).toThrow(/'images' is not a list/);
    expect(() => editFile(target('version'), '- a\n', 'v1')).toThrow(GitEditConflict);
    expect(() => editFile(target('version'), 'images: [\n', 'v1')).toThrow(/not valid YAML/);
  });
});

describe('helm-values edit', () => {
  const VALUES = `# Default values for platform.
replicaCount: 3

image:
    repository: registry.example.com/team/platform
    # Overrides the image tag whose default is the chart appVersion.
    tag: 1.9 # set by Stageline
    pullPolicy: IfNotPresent

podAnnotations: {}
env:
- name: GREETING
  value: "a long value that is deliberately longer than eighty columns, so a folding writer would break it"
`;
  const target: T = { edit: 'helm-values', file: 'charts/platform/values-production.yaml', path: 'image.tag', value: 'version' };

  it('sets the dotted key as a string (1.10 stays 1.10, not the number 1.1), keeping comments, indentation and the rest', () => {
    const r = editFile(target, VALUES, '1.10');
    expect(r).toMatchObject({ changed: true, previous: 1.9 });
    expect(r.text).toBe(VALUES.replace('tag: 1.9 #', 'tag: "1.10" #'));
    expect(editFile(target, VALUES, 'v2.0.0').text).toBe(VALUES.replace('tag: 1.9 #', 'tag: v2.0.0 #'));
    expect(editFile(target, r.text, '1.10').changed).toBe(false);
    // A new key re-renders the document with the source's own layout (here: 4-space maps, lists under their key).
    const even = VALUES.replace(/\n- /g, '\n    - ').replace(/\n  value/g, '\n      value');
    expect(editFile({ ...target, path: 'image.digest' }, even, DIGEST).text).toBe(even.replace('IfNotPresent\n', `IfNotPresent\n    digest: ${DIGEST}\n`));
  });

  it('refuses a file that is not YAML, and a key under a value or a list', () => {
    expect(() => editFile({ ...target, file: 'values.json' }, '{}', 'v1')).toThrow(/not a \.yaml or \.yml file/);
    expect(() => editFile({ ...target, path: 'replicaCount.tag' }, VALUES, 'v1')).toThrow(/'replicaCount' is not a mapping/);
    expect(() => editFile({ ...target, path: 'env' }, VALUES, 'v1')).toThrow(/holds a mapping or list/);
  });

  it('refuses a file whose alias is inside the node it names, before the edit walks it', () => {
    for (const text of ['image: &i {tag: 1, self: *i}\n', 'image: {tag: 1}\nx: &x {<<: *x}\n'])
      expect(() => editFile(target, text, 'v2'), text).toThrow(/may not refer to itself/);
  });
});

describe('json-path edit', () => {
  const target: T = { edit: 'json-path', file: 'deploy/production.json', path: 'image.tag', value: 'version' };

  it('sets the path keeping the indentation (tabs too) and the final newline; again: no change', () => {
    const tabs = '{\n\t"image": {\n\t\t"tag": "v1",\n\t\t"pull": "Always"\n\t},\n\t"replicas": 2\n}\n';
    const r = editFile(target, tabs, 'v2');
    expect(r).toMatchObject({ changed: true, previous: 'v1', text: tabs.replace('"v1"', '"v2"') });
    expect(editFile(target, r.text, 'v2').changed).toBe(false);
    expect(editFile(target, '{\n    "a": 1\n}', 'v2').text).toBe('{\n    "a": 1,\n    "image": {\n        "tag": "v2"\n    }\n}');
  });

  it('rewrites a value that was there in place: one-line arrays and inline objects stay as written; duplicate members: the last, as JSON.parse reads', () => {
    const compact = '{\n  "ports": [80, 443],\n  "image": { "repository": "x", "tag": "v1" }, "note": {"a": [{"b": "}\\"]"}]}\n}\n';
    expect(editFile(target, compact, 'v2').text).toBe(compact.replace('"tag": "v1"', '"tag": "v2"'));
    expect(editFile(target, '{"image":{"tag":"a"},"image":{"tag":"b"}}', 'v2').text).toBe('{"image":{"tag":"a"},"image":{"tag":"v2"}}');
    expect(editFile(target, '{"image":{"tag":1.5e3}}', 'v2')).toMatchObject({ text: '{"image":{"tag":"v2"}}', previous: 1500 });
  });

  it('refuses a path through a non-object, a file that is not JSON, and a .yaml file', () => {
    expect(() => editFile(target, '{"image": "nginx:1"}', 'v2')).toThrow(/'image' is not an object, so 'image.tag' cannot be set/);
    expect(() => editFile(target, '{"image": ["a"]}', 'v2')).toThrow(/'image' is not an object/);
    expect(() => editFile(target, '[1, 2]', 'v2')).toThrow(/the document is not an object/);
    expect(() => editFile(target, '{"image": {"tag": {"a": 1}}}', 'v2')).toThrow(/holds an object, not a value/);
    expect(() => editFile(target, '{', 'v2')).toThrow(/not valid JSON/);
    expect(() => editFile({ ...target, file: 'values.yaml' }, 'a: 1\n', 'v2')).toThrow(/not a \.json file/);
  });
});

describe('yaml-path edit (the default, as before)', () => {
  it('is what a target without an edit kind gets, on YAML and JSON files, and no longer folds long lines or re-indents lists', () => {
    const yaml = '# values\nimage:\n  tag: v1 # pinned\nhosts:\n- a.example.com\nnote: "' + 'x '.repeat(60) + '"\n';
    const r = editFile({ file: 'values.yaml', path: 'image.tag', value: 'version' }, yaml, 'v2');
    expect(r.text).toBe(yaml.replace('tag: v1', 'tag: v2'));
    expect(editFile({ file: 'app.json', path: 'image.tag', value: 'version' }, '{"image": {"tag": "v1"}}', 'v2').text).toContain('"tag": "v2"');
    expect(setValue('values.yaml', yaml, 'image.tag', 'v2').text).toBe(r.text);
  });

  it('a key that is not there yet is added as one line; every other line keeps its own spacing', () => {
    const yaml = '# values\nimage:\n  repository:   ghcr.io/acme/web   # the image\nreplicas:  3\n';
    const r = editFile({ file: 'values.yaml', path: 'image.tag', value: 'version' }, yaml, 'v2');
    expect(r.text).toBe(yaml.replace('# the image\n', '# the image\n  tag: v2\n'));
  });
});

describe('configuration checks (400 before any promotion)', () => {
  it('names the file or path that does not fit the edit kind', () => {
    const at = 'body';
    expect(gitEditIssues({ edit: 'kustomize-image', file: 'envs/prod/kustomization.yaml', path: 'registry.example.com:5000/team/platform' }, at)).toEqual([]);
    expect(gitEditIssues({ edit: 'kustomize-image', file: 'envs/prod/values.yaml', path: 'platform' }, at)).toEqual([
      { path: 'body.file', message: expect.stringContaining('kustomization.yaml') },
    ]);
    expect(gitEditIssues({ edit: 'json-path', file: 'values.yaml', path: 'image.tag' }, at)).toEqual([
      { path: 'body.file', message: expect.stringContaining('.json') },
    ]);
    expect(gitEditIssues({ edit: 'helm-values', file: 'values.json', path: 'image.tag' }, at)).toEqual([
      { path: 'body.file', message: expect.stringContaining('.yaml') },
    ]);
    expect(gitEditIssues({ edit: 'helm-values', file: 'values.yaml', path: 'registry.example.com/team/platform' }, at)).toEqual([
      { path: 'body.path', message: expect.stringContaining('dot-separated') },
    ]);
    expect(gitEditIssues({ file: 'values.yaml', path: 'image.tag' }, at)).toEqual([]);
    expect(gitEditIssues({ file: 'app.json', path: 'image.tag' }, at)).toEqual([]);
  });
});
