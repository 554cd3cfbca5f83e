import {
  applyOutcome,
  checkObjects,
  diffLines,
  normalizeForDiff,
  objectDiff,
  prepareObject,
  readManifests,
  redactSecrets,
  unifiedDiff,
} from '@kubeline/kube';
import { installRank } from '@kubeline/k8s';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('unifiedDiff', () => {
  test('equal texts: no diff', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', { from: 'a', to: 'b' })).toBe('');
  });

  test('one changed line with three lines of context, as diff -u writes it', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].join('\n') + '\n';
    const after = before.replace('e\n', 'E\n');
    expect(unifiedDiff(before, after, { from: 'live', to: 'desired' })).toBe(
      ['--- live', '+++ desired', '@@ -2,7 +2,7 @@', ' b', ' c', ' d', '-e', '+E', ' f', ' g', ' h', ''].join('\n'),
    );
  });

  test('changes far apart make two hunks; close ones merge', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    const after = [...lines];
    after[2] = 'changed 3';
    after[25] = 'changed 26';
    const diff = unifiedDiff(lines.join('\n') + '\n', after.join('\n') + '\n', { from: 'a', to: 'b' });
    expect(diff.match(/^@@.*@@$/gm)).toEqual(['@@ -1,6 +1,6 @@', '@@ -23,7 +23,7 @@']);
    const close = [...lines];
    close[10] = 'x';
    close[15] = 'y';
    expect(unifiedDiff(lines.join('\n') + '\n', close.join('\n') + '\n', { from: 'a', to: 'b' }).match(/^@@.*@@$/gm)).toEqual(['@@ -8,12 +8,12 @@']);
  });

  test('a new object: everything added against /dev/null', () => {
    expect(unifiedDiff('', 'a\nb\n', { from: '/dev/null', to: 'new' })).toBe('--- /dev/null\n+++ new\n@@ -0,0 +1,2 @@\n+a\n+b\n');
  });

  test('insertions and deletions at the edges', () => {
    expect(unifiedDiff('a\nb\n', 'x\na\nb\ny\n', { from: 'a', to: 'b' })).toBe('--- a\n+++ b\n@@ -1,2 +1,4 @@\n+x\n a\n b\n+y\n');
  });

  test('the edit script always rebuilds both sides and is minimal on known cases (random fuzz)', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 300; round++) {
      const a = Array.from({ length: Math.floor(rand() * 30) }, () => 'abcde'[Math.floor(rand() * 5)]);
      const b = a.filter(() => rand() > 0.2).map((l) => (rand() > 0.85 ? 'xyz'[Math.floor(rand() * 3)] : l));
      if (rand() > 0.5) b.splice(Math.floor(rand() * b.length), 0, 'q');
      const ops = diffLines(a, b);
      expect(ops.filter(([t]) => t !== '+').map(([, l]) => l)).toEqual(a);
      expect(ops.filter(([t]) => t !== '-').map(([, l]) => l)).toEqual(b);
      // Minimal: the number of edits equals N + M - 2·LCS.
      const lcs = lcsLength(a, b);
      expect(ops.filter(([t]) => t !== '=').length).toBe(a.length + b.length - 2 * lcs);
    }
  });
});

function lcsLength(a: string[], b: string[]): number {
  const dp = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) dp[i][j] = a[i - 1] === b[j - 1] ? dp[i - 1][j - 1] + 1 : Math.max(dp[i - 1][j], dp[i][j - 1]);
  return dp[a.length][b.length];
}

describe('object diffs', () => {
  const live = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', uid: 'u', resourceVersion: '7', generation: 3, creationTimestamp: 'now', managedFields: [{ manager: 'kubeline' }], annotations: {} },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'app', image: 'web:1' }] } } },
    status: { readyReplicas: 2 },
  };

  test('the server bookkeeping and status are left out', () => {
    expect(normalizeForDiff(live)).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: live.spec });
  });

  test('replicas and image changes show, nothing else', () => {
    const desired = structuredClone(live);
    desired.spec.replicas = 3;
    desired.spec.template.spec.containers[0].image = 'web:2';
    desired.metadata.resourceVersion = '8';
    const diff = objectDiff({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' }, live, desired);
    expect(diff).toContain('--- live/apps/v1/Deployment/shop/web\n+++ desired/apps/v1/Deployment/shop/web\n');
    expect(diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual(['-  replicas: 2', '+  replicas: 3', '-          image: web:1', '+          image: web:2']);
  });

  test('secret values never show; a changed key is still visible', () => {
    const before = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"aHVudGVyMg=="}}' } }, data: { password: 'aHVudGVyMg==', user: 'YWRtaW4=' } };
    const after = { ...before, data: { password: 'bmV3', user: 'YWRtaW4=', extra: 'eA==' } };
    const [b, a] = redactSecrets(before, after);
    expect(b?.data).toEqual({ password: '*** (before)', user: '***' });
    expect(a?.data).toEqual({ password: '*** (after)', user: '***', extra: '*** (after)' });
    const diff = objectDiff({ apiVersion: 'v1', kind: 'Secret', name: 's' }, before, after);
    expect(diff).not.toMatch(/aHVudGVyMg|bmV3|YWRtaW4|eA==/);
    expect(diff).toContain('-  password: "*** (before)"');
  });
});

describe('prepareObject', () => {
  test('namespaced objects get the target namespace, cluster-scoped ones lose theirs; ours is stamped', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { app: 'a' }, resourceVersion: '1', managedFields: [] }, status: {} };
    expect(prepareObject(cm, { namespaced: true, namespace: 'shop', release: 'web' })).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'shop', labels: { app: 'a', 'app.kubernetes.io/managed-by': 'kubeline' }, annotations: { 'kubeline.dev/release': 'web' } },
    });
    expect(prepareObject({ ...cm, metadata: { name: 'c', namespace: 'other' } }, { namespaced: true, namespace: 'shop' }).metadata).toEqual({ name: 'c', namespace: 'other' });
    expect(prepareObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', namespace: 'x' } }, { namespaced: false, namespace: 'shop' }).metadata).toEqual({ name: 'n' });
    expect(cm.metadata.resourceVersion).toBe('1'); // the input is not changed
  });
});

test('checkObjects lists every problem at once', () => {
  expect(() =>
    checkObjects([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } },
      { kind: 'ConfigMap', metadata: { name: 'b' } },
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { generateName: 'migrate-' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } },
    ]),
  ).toThrow(
    "input 'manifests': the bundle cannot be applied:\n  - object 2 (ConfigMap b) has no apiVersion\n  - object 3 (Job migrate-*) has generateName but no name: server-side apply needs a fixed name\n  - ConfigMap a is in the bundle twice (objects 1 and 4)",
  );
});

describe('applyOutcome', () => {
  const obj = (rv: string, generation: number | undefined, time: string) => ({
    metadata: { resourceVersion: rv, generation, managedFields: [{ manager: 'kubeline', operation: 'Apply', apiVersion: 'apps/v1', time, fieldsV1: { 'f:spec': {} } }] },
  });
  const before = (rv: string, generation: number | undefined, time: string) => ({
    resourceVersion: rv,
    generation,
    entry: JSON.stringify(['apps/v1', time, { 'f:spec': {} }]),
    entryTime: Date.parse(time),
  });
  const t1 = '2026-01-01T00:00:01Z';
  const t2 = '2026-01-01T00:00:09Z';
  const later = Date.parse('2026-01-01T00:00:10Z');
  test.each([
    { name: 'new (201)', created: true, b: before('1', 1, t1), after: obj('2', 1, t1), now: later, outcome: 'created' },
    { name: 'absent before', created: false, b: null, after: obj('2', 1, t1), now: later, outcome: 'created' },
    { name: 'nothing written', created: false, b: before('5', 2, t1), after: obj('5', 2, t1), now: later, outcome: 'unchanged' },
    { name: 'status written by a controller in between', created: false, b: before('5', 2, t1), after: obj('9', 2, t1), now: later, outcome: 'unchanged' },
    { name: 'spec changed', created: false, b: before('5', 2, t1), after: obj('9', 3, t2), now: later, outcome: 'configured' },
    { name: 'spec changed in the second of the last apply', created: false, b: before('5', 2, t1), after: obj('9', 3, t1), now: Date.parse(t1), outcome: 'configured' },
    { name: 'a ConfigMap changed (no generation)', created: false, b: before('5', undefined, t1), after: obj('9', undefined, t2), now: later, outcome: 'configured' },
    { name: 'a ConfigMap changed in the second it was created', created: false, b: before('5', undefined, t1), after: obj('9', undefined, t1), now: Date.parse(t1) + 500, outcome: 'configured' },
    { name: 'a ConfigMap someone else labelled earlier', created: false, b: before('5', undefined, t1), after: obj('9', undefined, t1), now: later, outcome: 'unchanged' },
    { name: 'unknown before (no right to read)', created: false, b: undefined, after: obj('9', 2, t1), now: later, outcome: 'configured' },
  ])('$name → $outcome', ({ created, b, after, now, outcome }) => {
    expect(applyOutcome(created, b, after, now)).toBe(outcome);
  });
});

test('install order: namespaces and what pods need before workloads; custom kinds last', () => {
  const kinds = ['Widget', 'Deployment', 'Service', 'ConfigMap', 'Namespace', 'ServiceAccount', 'Job'];
  expect([...kinds].sort((a, b) => installRank(a) - installRank(b))).toEqual(['Namespace', 'ServiceAccount', 'ConfigMap', 'Service', 'Deployment', 'Job', 'Widget']);
});

describe('readManifests', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kube-manifests-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a folder, recursively in path order; lists expanded; YAML 1.1 scalars; other files ignored', async () => {
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'b', 'svc.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n');
    writeFileSync(join(dir, 'a.yml'), '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {on: "yes"}\n---\n# only a comment\n');
    writeFileSync(join(dir, 'list.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }] }));
    writeFileSync(join(dir, 'README.md'), '# not a manifest');
    const objects = await readManifests(dir);
    expect(objects.map((o) => `${o.kind}/${(o.metadata as { name: string }).name}`)).toEqual(['ConfigMap/c', 'Service/s', 'Secret/x']);
    expect(objects[0].data).toEqual({ true: 'yes' });
  });

  test('mistakes name the file and line', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n');
    await expect(readManifests(join(dir, 'bad.yaml'))).rejects.toThrow(/^input 'manifests': .*bad\.yaml:\d+:\d+: /);
    await expect(readManifests(join(dir, 'missing'))).rejects.toThrow("input 'manifests': " + join(dir, 'missing') + ' does not exist.');
    mkdirSync(join(dir, 'empty'));
    await expect(readManifests(join(dir, 'empty'))).rejects.toThrow(/has no \.yaml, \.yml or \.json files/);
  });
});
