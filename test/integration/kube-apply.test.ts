// The "write" half of deploy against the test bed's real control plane (scripts/cluster): connect
// (kubeconfig input, exec credential plugin, in-cluster service account), server-side apply with
// its outcomes, conflicts, namespaces, CRDs, dry-run diffs, the errors a user meets (403, 422, an
// unreachable server, 503/429 on the way), release records, prune and the Lease lock. Every test
// works in its own namespace and deletes it at the end; the cluster is shared.
import {
  acquireLock,
  ApplyError,
  applyBundle,
  type ClientOptions,
  type Connection,
  connect,
  decodeBundle,
  KubeApiError,
  KubeClient,
  LOCK_STATE,
  LockTimeoutError,
  prune,
  pruneCandidates,
  releaseLockFromState,
  ReleaseStore,
  UnreachableError,
} from '@kubeline/kube';
import type { KubeObject } from '@kubeline/k8s';
import { ConfigurationError } from '@kubeline/toolkit';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from '../support/actions';

const kubeconfigPath = process.env.KUBELINE_KUBECONFIG;
if (!kubeconfigPath) {
  throw new Error('The test cluster is not up: run `eval "$(scripts/cluster up)"` (it sets KUBELINE_KUBECONFIG), then the tests again.');
}
const ADMIN_KUBECONFIG = readFileSync(kubeconfigPath, 'utf8');
const quiet = { saveState: () => {}, getState: () => '', setSecret: () => {} };
const log = process.env.KUBELINE_TEST_LOG ? (l: string) => process.stderr.write(`[kube] ${l}\n`) : () => {};

let temp: string;
let adminConnection: Connection;
let admin: KubeClient;

beforeAll(async () => {
  temp = mkdtempSync(join(tmpdir(), 'kube-apply-'));
  adminConnection = await connect({ ...quiet, kubeconfig: ADMIN_KUBECONFIG, tempDir: temp });
  admin = new KubeClient(adminConnection.kubeConfig);
  const version = await admin.request<{ gitVersion: string }>({ method: 'GET', path: '/version' });
  expect(version.body.gitVersion).toMatch(/^v1\./);
});

afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** Runs `fn` in a fresh namespace (created unless `create: false`) and deletes it afterwards, whatever happens. */
async function inNamespace(prefix: string, fn: (ns: string) => Promise<void>, create = true): Promise<void> {
  const ns = uniqueName(prefix);
  try {
    if (create) await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await fn(ns);
  } finally {
    await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
  }
}

const configMap = (name: string, data: Record<string, string>, namespace?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(namespace ? { namespace } : {}) },
  data,
});

function deployment(name: string, image: string, replicas: number, labels: Record<string, string> = { app: name }): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

const service = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
});

const outcomes = (r: { objects: Array<{ ref: { kind: string; name: string }; outcome: string }> }) =>
  Object.fromEntries(r.objects.map((o) => [`${o.ref.kind}/${o.ref.name}`, o.outcome]));

async function live(ref: { apiVersion: string; kind: string; namespace?: string; name: string }): Promise<any> {
  return admin.get(ref);
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined | false>, seconds = 60): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not ${what} after ${seconds} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A service account token with the given ClusterRole bound in the namespace (none: no rights at all). */
async function serviceAccountToken(ns: string, name: string, clusterRole?: string): Promise<string> {
  await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
  if (clusterRole) {
    await admin.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `${name}-${clusterRole}`, namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
    });
  }
  const r = await admin.request<{ status: { token: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
  });
  return r.body.status.token;
}

/** The admin kubeconfig with its user replaced. */
function kubeconfigWithUser(user: string): string {
  const cluster = /clusters:\n[\s\S]*?(?=\nusers:)/.exec(ADMIN_KUBECONFIG)?.[0];
  return `apiVersion: v1\nkind: Config\n${cluster}\nusers:\n- name: deployer\n  user:\n${user}\ncontexts:\n- name: ci\n  context: {cluster: kubeline, user: deployer}\ncurrent-context: ci\n`;
}

test('server-side apply: created, then unchanged (while controllers write status), then configured; ownership stamped', async () => {
  await inNamespace('kube-ssa', async (ns) => {
    const bundle = [deployment('web', 'registry.example/web:1', 2), service('web'), configMap('settings', { mode: 'a' })];
    const first = await applyBundle(admin, bundle, { namespace: ns, release: 'shop', log });
    expect(outcomes(first)).toEqual({ 'ConfigMap/settings': 'created', 'Service/web': 'created', 'Deployment/web': 'created' });
    // Install order: the ConfigMap and Service before the Deployment.
    expect(first.objects.map((o) => o.ref.kind)).toEqual(['ConfigMap', 'Service', 'Deployment']);

    const d = await live({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });
    expect(d.metadata.labels['app.kubernetes.io/managed-by']).toBe('kubeline');
    expect(d.metadata.annotations['kubeline.dev/release']).toBe('shop');
    expect(d.metadata.managedFields).toContainEqual(expect.objectContaining({ manager: 'kubeline', operation: 'Apply' }));

    // The controller rolls it out, writing status (new resourceVersions) meanwhile.
    await waitUntil('available', async () => {
      const o = await live({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });
      return o.status?.availableReplicas === 2 && o.metadata.resourceVersion !== d.metadata.resourceVersion;
    });
    const again = await applyBundle(admin, bundle, { namespace: ns, release: 'shop', log });
    expect(outcomes(again)).toEqual({ 'ConfigMap/settings': 'unchanged', 'Service/web': 'unchanged', 'Deployment/web': 'unchanged' });

    const changed = [deployment('web', 'registry.example/web:2', 2), service('web'), configMap('settings', { mode: 'b' })];
    const third = await applyBundle(admin, changed, { namespace: ns, release: 'shop', log });
    expect(outcomes(third)).toEqual({ 'ConfigMap/settings': 'configured', 'Service/web': 'unchanged', 'Deployment/web': 'configured' });
    expect((await live({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'settings' })).data).toEqual({ mode: 'b' });
  });
});

test('a conflict with another field manager fails naming it and the field; force-conflicts takes the field over', async () => {
  await inNamespace('kube-conflict', async (ns) => {
    // Someone applied replicas under the manager "other" (as `kubectl apply --server-side --field-manager other` would).
    await admin.apply({ ...deployment('web', 'registry.example/web:1', 5), metadata: { name: 'web', namespace: ns } }, { fieldManager: 'other' });
    const bundle = [deployment('web', 'registry.example/web:1', 2)];
    const failed = await applyBundle(admin, bundle, { namespace: ns, log }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ApplyError);
    const message = (failed as Error).message;
    expect(message).toContain(`Deployment ${ns}/web: server-side apply conflict`);
    expect(message).toContain('"other" owns .spec.replicas');
    expect(message).toContain('force-conflicts: true');
    expect((failed as ApplyError).failures).toHaveLength(1);
    expect((await live({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' })).spec.replicas).toBe(5);

    const forced = await applyBundle(admin, bundle, { namespace: ns, forceConflicts: true, log });
    expect(outcomes(forced)).toEqual({ 'Deployment/web': 'configured' });
    const d = await live({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });
    expect(d.spec.replicas).toBe(2);
    const kubeline = d.metadata.managedFields.find((m: any) => m.manager === 'kubeline');
    expect(kubeline.fieldsV1['f:spec']).toHaveProperty('f:replicas');
  });
});

test('a missing namespace is an error unless create-namespace; a Namespace in the bundle comes first', async () => {
  await inNamespace(
    'kube-newns',
    async (ns) => {
      const bundle = [configMap('c', { a: '1' })];
      const refused = await applyBundle(admin, bundle, { namespace: ns, log }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ConfigurationError);
      expect((refused as Error).message).toBe(`input 'namespace': namespace "${ns}" does not exist. Create it, add a Namespace object to the bundle, or set create-namespace: true.`);

      const created = await applyBundle(admin, bundle, { namespace: ns, createNamespace: true, release: 'r', log });
      expect(created.createdNamespaces).toEqual([ns]);
      expect(outcomes(created)).toEqual({ 'ConfigMap/c': 'created' });
      const namespace = await live({ apiVersion: 'v1', kind: 'Namespace', name: ns });
      expect(namespace.metadata.labels['app.kubernetes.io/managed-by']).toBe('kubeline');
      expect(namespace.metadata.annotations?.['kubeline.dev/release']).toBeUndefined(); // in no release: never pruned
    },
    false,
  );

  await inNamespace(
    'kube-bundlens',
    async (ns) => {
      const bundle = [configMap('c', { a: '1' }, ns), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }];
      const r = await applyBundle(admin, bundle, { namespace: 'default', log });
      expect(r.objects.map((o) => `${o.ref.kind}/${o.outcome}`)).toEqual(['Namespace/created', 'ConfigMap/created']);
      expect(r.createdNamespaces).toEqual([]);
    },
    false,
  );
});

test('a CRD and its custom resource in one bundle: the CRD is applied and Established first', async () => {
  const group = `${uniqueName('t')}.kubeline.dev`;
  const crd: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
        },
      ],
    },
  };
  const widget: KubeObject = { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w' }, spec: { size: 3 } };
  try {
    await inNamespace('kube-crd', async (ns) => {
      // The CR first in the bundle: order is by kind, not by position.
      const dry = await applyBundle(admin, [widget, crd], { namespace: ns, dryRun: true, log });
      expect(dry.objects.find((o) => o.ref.kind === 'Widget')).toMatchObject({ outcome: 'created', note: expect.stringContaining('CustomResourceDefinition is new in this bundle') });
      expect(await live({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `widgets.${group}` })).toBeUndefined();

      const r = await applyBundle(admin, [widget, crd], { namespace: ns, release: 'w', log });
      expect(r.objects.map((o) => `${o.ref.kind}/${o.outcome}`)).toEqual(['CustomResourceDefinition/created', 'Widget/created']);
      expect((await live({ apiVersion: `${group}/v1`, kind: 'Widget', namespace: ns, name: 'w' })).spec).toEqual({ size: 3 });
      // A second run knows the kind from discovery.
      expect(outcomes(await applyBundle(admin, [widget, crd], { namespace: ns, release: 'w', log }))).toEqual({ [`CustomResourceDefinition/widgets.${group}`]: 'unchanged', 'Widget/w': 'unchanged' });
      // A kind nobody installed: the error says so before anything is applied.
      const missing = await applyBundle(admin, [configMap('c', {}), { apiVersion: 'nothing.kubeline.dev/v1', kind: 'Gadget', metadata: { name: 'g' } }], { namespace: ns, log }).catch((e: unknown) => e);
      expect((missing as Error).message).toMatch(/Gadget g: the cluster has no API for kind Gadget in nothing\.kubeline\.dev\/v1\..*CustomResourceDefinition/);
      expect(await live({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'c' })).toBeUndefined();
    });
  } finally {
    await admin.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `widgets.${group}` }).catch(() => undefined);
  }
});

test('dry run: a diff of live against desired shows the new replicas and image, and nothing changes', async () => {
  await inNamespace('kube-dry', async (ns) => {
    await applyBundle(admin, [deployment('web', 'registry.example/web:1', 1), configMap('same', { a: '1' })], { namespace: ns, release: 'r', log });
    const before = await live({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });

    const desired = [deployment('web', 'registry.example/web:2', 3), configMap('same', { a: '1' }), configMap('new', { b: '2' }), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      stringData: { password: 'hunter2' },
    }];
    const r = await applyBundle(admin, desired, { namespace: ns, release: 'r', dryRun: true, log });
    expect(outcomes(r)).toEqual({ 'Secret/creds': 'created', 'ConfigMap/same': 'unchanged', 'ConfigMap/new': 'created', 'Deployment/web': 'configured' });
    const web = r.objects.find((o) => o.ref.name === 'web')?.diff ?? '';
    expect(web).toContain(`--- live/apps/v1/Deployment/${ns}/web\n+++ desired/apps/v1/Deployment/${ns}/web\n`);
    expect(web.split('\n').filter((l) => /^[-+] /.test(l))).toEqual(['-  replicas: 1', '+  replicas: 3', '-          image: registry.example/web:1', '+          image: registry.example/web:2']);
    expect(r.objects.find((o) => o.ref.name === 'new')?.diff).toMatch(/^--- \/dev\/null\n\+\+\+ desired\/v1\/ConfigMap\/.*\/new\n@@ -0,0 \+1,\d+ @@\n/);
    expect(r.diff).toContain(web);
    expect(r.diff).not.toContain('hunter2');
    expect(r.diff).not.toContain(Buffer.from('hunter2').toString('base64'));
    expect(r.objects.find((o) => o.ref.name === 'same')?.diff).toBe('');

    const after = await live({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });
    expect(after.spec.replicas).toBe(1);
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(await live({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'new' })).toBeUndefined();
  });
});

test('422: an invalid object is named with the server causes; 403: verb, resource, namespace, user and the Role that allows it', async () => {
  await inNamespace('kube-errors', async (ns) => {
    const bad = deployment('bad', 'registry.example/web:1', 1, { app: 'other' });
    const invalid = await applyBundle(admin, [bad], { namespace: ns, log }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ApplyError);
    const cause = (invalid as ApplyError).failures[0].error;
    expect(cause).toBeInstanceOf(KubeApiError);
    expect((cause as KubeApiError).status).toBe(422);
    expect((invalid as Error).message).toMatch(new RegExp(`^Deployment ${ns}/bad is invalid:\\n  - spec\\.template\\.metadata\\.labels: Invalid value: .*\`selector\` does not match template \`labels\``));

    // An unknown field (strict field validation) is invalid too, not a server error to retry.
    const unknown = await applyBundle(admin, [{ ...configMap('c', {}), datta: { a: '1' } }], { namespace: ns, log }).catch((e: unknown) => e);
    expect((unknown as Error).message).toMatch(new RegExp(`^ConfigMap ${ns}/c is invalid: .*datta`));

    const token = await serviceAccountToken(ns, 'nobody');
    const c = await connect({ ...quiet, kubeconfig: kubeconfigWithUser(`    token: ${token}`), tempDir: temp });
    const client = new KubeClient(c.kubeConfig);
    const denied = await applyBundle(client, [deployment('web', 'registry.example/web:1', 1)], { namespace: ns, log }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ApplyError);
    const message = (denied as Error).message;
    expect(message).toContain(`forbidden: system:serviceaccount:${ns}:nobody cannot patch deployments.apps in namespace "${ns}" (Deployment ${ns}/web)`);
    expect(message).toContain(`kind: Role\nmetadata:\n  name: kubeline-deploy\n  namespace: ${ns}\nrules:\n  - apiGroups: ["apps"]\n    resources: ["deployments"]\n    verbs: ["patch"]`);
  });
});

test('an exec credential plugin gets a real service account token; in a pod, the mounted service account works', async () => {
  await inNamespace('kube-exec', async (ns) => {
    const token = await serviceAccountToken(ns, 'deployer', 'edit');
    const plugin = join(temp, `kubeline-test-auth-${ns}`);
    const marker = join(temp, `${ns}.ran`);
    const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token } });
    writeFileSync(plugin, `#!/bin/sh\ntouch '${marker}'\ncat <<'EOF'\n${credential}\nEOF\n`);
    chmodSync(plugin, 0o755);
    const config = kubeconfigWithUser(
      `    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ${plugin.split('/').pop()}\n      interactiveMode: Never\n      installHint: the test writes it`,
    );

    // Not on PATH: a clear error before any request.
    await expect(connect({ ...quiet, kubeconfig: config, tempDir: temp, env: { PATH: '/nonexistent' } })).rejects.toThrow(/exec plugin `kubeline-test-auth-.*`, which is not on this runner's PATH\. the test writes it/);

    const c = await connect({ ...quiet, kubeconfig: config, tempDir: temp, env: { PATH: `/usr/bin:${temp}` } });
    expect(c.execPlugin).toBe(plugin);
    const client = new KubeClient(c.kubeConfig);
    const r = await applyBundle(client, [configMap('via-exec', { a: '1' })], { namespace: ns, log });
    expect(outcomes(r)).toEqual({ 'ConfigMap/via-exec': 'created' });
    expect(readFileSync(marker, 'utf8')).toBe('');
    const cm = await live({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'via-exec' });
    expect(cm.metadata.managedFields[0].manager).toBe('kubeline');

    // The same identity as a pod sees it: token, CA and namespace files, KUBERNETES_SERVICE_HOST/PORT.
    const sa = mkdtempSync(join(temp, 'serviceaccount-'));
    writeFileSync(join(sa, 'token'), token);
    writeFileSync(join(sa, 'ca.crt'), Buffer.from(/certificate-authority-data:\s*(\S+)/.exec(ADMIN_KUBECONFIG)?.[1] ?? '', 'base64'));
    writeFileSync(join(sa, 'namespace'), ns);
    const server = new URL(c.server);
    const pod = await connect({ ...quiet, serviceAccountDir: sa, env: { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port } });
    expect(pod).toMatchObject({ source: 'in-cluster', namespace: ns });
    const inPod = new KubeClient(pod.kubeConfig);
    expect(inPod.defaultNamespace).toBe(ns);
    expect((await inPod.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'via-exec' }))?.data).toEqual({ a: '1' });
  });
});

test('release records: revisions, statuses, the gzip bundle read back, history trimmed (the last deployed one kept)', async () => {
  await inNamespace('kube-release', async (ns) => {
    const store = new ReleaseStore(admin, ns, 'shop');
    expect(await store.list()).toEqual([]);
    expect(await store.latestGood()).toBeUndefined();

    const bundles = [1, 2, 3, 4, 5].map((i) => [{ ...deployment('web', `registry.example/web@sha256:${String(i).repeat(64)}`, 1), metadata: { name: 'web', namespace: ns } }]);
    const r1 = await store.record({ objects: bundles[0], commit: 'c1', runUrl: 'https://github.com/o/r/actions/runs/1' });
    expect(r1).toMatchObject({ revision: 1, status: 'pending', commit: 'c1', secretName: 'kubeline.release.shop.v1', images: [`registry.example/web@sha256:${'1'.repeat(64)}`] });
    await store.setStatus(r1, 'deployed');
    const r2 = await store.record({ objects: bundles[1], status: 'pending' });
    await store.setStatus(r2, 'deployed');
    expect((await store.list()).map((r) => `${r.revision}:${r.status}`)).toEqual(['2:deployed', '1:superseded']);
    const r3 = await store.record({ objects: bundles[2] });
    await store.setStatus(r3, 'rolled-back', 'pods never became ready; revision 2 is live again');
    const r4 = await store.record({ objects: bundles[3] });
    await store.setStatus(r4, 'failed');
    const r5 = await store.record({ objects: bundles[4] });
    expect(r5.revision).toBe(5);

    const all = await store.list();
    expect(all.map((r) => `${r.revision}:${r.status}`)).toEqual(['5:pending', '4:failed', '3:rolled-back', '2:deployed', '1:superseded']);
    expect(all[2].note).toBe('pods never became ready; revision 2 is live again');
    expect((await store.latestGood())?.revision).toBe(2);

    // The Secret as anyone can read it: type, labels, and a bundle that is plain gzip.
    const secret = await live({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'kubeline.release.shop.v2' });
    expect(secret.type).toBe('kubeline.dev/release');
    expect(secret.metadata.labels).toMatchObject({ 'kubeline.dev/release': 'shop', 'kubeline.dev/revision': '2', 'kubeline.dev/status': 'deployed' });
    expect(decodeBundle(secret)).toEqual(bundles[1]);
    expect(await store.bundle(2)).toEqual(bundles[1]);

    const trimmed = await store.trim(2);
    expect(trimmed.map((r) => r.revision)).toEqual([3, 1]);
    expect((await store.list()).map((r) => r.revision)).toEqual([5, 4, 2]);
    await expect(store.bundle(1)).rejects.toThrow(/kubeline\.release\.shop\.v1 does not exist/);
  });
});

test('prune deletes what the new bundle dropped, and leaves what is not ours alone', async () => {
  await inNamespace('kube-prune', async (ns) => {
    const store = new ReleaseStore(admin, ns, 'shop');
    const v1 = [configMap('keep', { a: '1' }), configMap('dropped', { a: '1' }), configMap('adopted', { a: '1' }), service('old')];
    const applied1 = await applyBundle(admin, v1, { namespace: ns, release: 'shop', log });
    // Recorded as read from the manifests (no namespace): the record names where apply put them.
    const rec1 = await store.record({ objects: v1 });
    expect(rec1.objects.map((r) => r.namespace)).toEqual([ns, ns, ns, ns]);
    expect((await store.bundle(rec1)).map((o) => (o.metadata as { namespace: string }).namespace)).toEqual([ns, ns, ns, ns]);
    await store.setStatus(rec1, 'deployed');
    // The same bundle again: nothing to prune.
    expect(pruneCandidates(await store.list(), applied1.objects.map((o) => o.ref))).toEqual([]);
    // Someone else applies "adopted" too (another tool took it over); "unrelated" was never ours.
    await admin.apply(configMap('adopted', { b: '2' }, ns), { fieldManager: 'other' });
    await admin.apply(configMap('unrelated', { a: '1' }, ns), { fieldManager: 'other' });

    const v2 = [configMap('keep', { a: '2' })];
    const applied2 = await applyBundle(admin, v2, { namespace: ns, release: 'shop', log });
    expect(applied2.bundle).toEqual([
      { ...configMap('keep', { a: '2' }, ns), metadata: { name: 'keep', namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'kubeline' }, annotations: { 'kubeline.dev/release': 'shop' } } },
    ]);
    const rec2 = await store.record({ objects: applied2.bundle });
    const candidates = pruneCandidates(await store.list(), rec2.objects);
    expect(candidates.map((c) => c.name).sort()).toEqual(['adopted', 'dropped', 'old']);

    const dry = await prune(admin, candidates, { release: 'shop', dryRun: true, log });
    expect(dry.deleted.map((r) => r.name).sort()).toEqual(['dropped', 'old']);
    expect(await live({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'dropped' })).toBeDefined();

    const result = await prune(admin, candidates, { release: 'shop', log });
    expect(result.deleted.map((r) => `${r.kind}/${r.name}`)).toEqual(['Service/old', 'ConfigMap/dropped']); // reverse install order
    expect(result.kept).toEqual([{ ref: expect.objectContaining({ name: 'adopted' }), reason: 'it is also applied by "other"' }]);
    expect(result.failed).toEqual([]);
    expect(await live({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'dropped' })).toBeUndefined();
    expect(await live({ apiVersion: 'v1', kind: 'Service', namespace: ns, name: 'old' })).toBeUndefined();
    expect(await live({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'adopted' })).toBeDefined();
    expect(await live({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'unrelated' })).toBeDefined();
    expect((await live({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'keep' })).data).toEqual({ a: '2' });
    // Gone already: a second prune has nothing to do.
    expect((await prune(admin, candidates, { release: 'shop', log })).deleted).toEqual([]);
  });
});

test('lock: a second deploy waits and gets it after release; a timeout names the holder; an expired lease is taken over; the post step releases', async () => {
  await inNamespace('kube-lock', async (ns) => {
    const state: Record<string, string> = {};
    const common = { namespace: ns, release: 'shop', log, saveState: (k: string, v: string) => void (state[k] = v) };
    const first = await acquireLock(admin, { ...common, identity: 'run-1-1-aaaaaa', runUrl: 'https://github.com/o/r/actions/runs/1', leaseDurationSeconds: 4, renewEveryMs: 500 });
    expect(JSON.parse(state[LOCK_STATE])).toEqual({ namespace: ns, name: 'kubeline-shop', identity: 'run-1-1-aaaaaa' });
    const lease = await live({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name: 'kubeline-shop' });
    expect(lease.spec).toMatchObject({ holderIdentity: 'run-1-1-aaaaaa', leaseDurationSeconds: 4 });

    // Held past its duration: the renewals keep it, so a short wait times out naming the holder.
    await new Promise((r) => setTimeout(r, 5000));
    const timedOut = await acquireLock(admin, { ...common, identity: 'run-2-1-bbbbbb', timeoutMs: 1000, pollMs: 200 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(LockTimeoutError);
    expect((timedOut as Error).message).toMatch(
      new RegExp(`^release shop in namespace ${ns} is locked by another deploy: run-1-1-aaaaaa \\(https://github.com/o/r/actions/runs/1\\) since \\d{4}-.*Z \\(\\d+ s ago\\), last renewed [01] s ago\\. Waited 1 s \\(lock-timeout\\)`),
    );
    expect(first.lost).toBeUndefined();

    // A second deploy waits; it gets the lock once the first releases it.
    const started = Date.now();
    const waiting = acquireLock(admin, { ...common, identity: 'run-3-1-cccccc', timeoutMs: 30_000, pollMs: 200 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await first.release()).toBe(true);
    const second = await waiting;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect((await live({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name: 'kubeline-shop' })).spec.holderIdentity).toBe('run-3-1-cccccc');

    // The main step was cancelled before releasing: the post step releases with what the state says.
    expect(await releaseLockFromState(admin, (k) => state[k] ?? '', log)).toBe(true);
    expect(await live({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name: 'kubeline-shop' })).toBeUndefined();
    expect(await second.release()).toBe(false); // nothing left to release

    // A lease left by a crashed run 5 minutes ago is taken over at once, with optimistic concurrency.
    const old = new Date(Date.now() - 300_000).toISOString().replace('Z', '000Z');
    await admin.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'kubeline-shop', namespace: ns },
      spec: { holderIdentity: 'crashed-run', leaseDurationSeconds: 60, acquireTime: old, renewTime: old, leaseTransitions: 2 },
    });
    const t = Date.now();
    const taken = await acquireLock(admin, { ...common, identity: 'run-4-1-dddddd', timeoutMs: 5000 });
    expect(Date.now() - t).toBeLessThan(3000);
    const after = await live({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name: 'kubeline-shop' });
    expect(after.spec).toMatchObject({ holderIdentity: 'run-4-1-dddddd', leaseTransitions: 3 });
    expect(await taken.release()).toBe(true);

    // In a namespace that does not exist: an error, or created with create-namespace.
    const missing = uniqueName('kube-lockns');
    try {
      await expect(acquireLock(admin, { ...common, namespace: missing })).rejects.toThrow(`namespace "${missing}" does not exist`);
      const inNew = await acquireLock(admin, { ...common, namespace: missing, createNamespace: true });
      expect(await inNew.release()).toBe(true);
    } finally {
      await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: missing }).catch(() => undefined);
    }
  });
});

test('two deploys racing for a free lock: exactly one wins at a time', async () => {
  await inNamespace('kube-race', async (ns) => {
    let inside = 0;
    let most = 0;
    const run = async (i: number) => {
      const lock = await acquireLock(admin, { namespace: ns, release: 'shop', identity: `racer-${i}`, timeoutMs: 60_000, pollMs: 100, log, saveState: () => {} });
      inside++;
      most = Math.max(most, inside);
      await new Promise((r) => setTimeout(r, 300));
      inside--;
      await lock.release();
    };
    await Promise.all([0, 1, 2, 3].map(run));
    expect(most).toBe(1);
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** The admin's credentials for a server at a port nothing listens on. */
async function unreachableClient(options: ClientOptions): Promise<{ client: KubeClient; port: number }> {
  const port = await closedPort();
  const config = ADMIN_KUBECONFIG.replace(/server: \S+/, `server: https://127.0.0.1:${port}`);
  const c = await connect({ ...quiet, kubeconfig: config, tempDir: temp });
  return { client: new KubeClient(c.kubeConfig, options), port };
}

test('an unreachable API server fails after bounded retries, naming the server', async () => {
  const { client, port } = await unreachableClient({ retries: 2, baseDelayMs: 50, maxDelayMs: 100 });
  const started = Date.now();
  const err = await applyBundle(client, [configMap('c', {})], { namespace: 'default', log }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UnreachableError);
  expect((err as Error).message).toMatch(new RegExp(`^cannot reach the Kubernetes API server at https://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED 127\\.0\\.0\\.1:${port} \\(3 attempts\\)\\. Check the server address`));
  expect(client.requests).toBe(3);
  expect(Date.now() - started).toBeLessThan(5000);
});

test('a request stopped by its signal ends at once: no more retries, no unreachable-server error', async () => {
  const { client } = await unreachableClient({ retries: 4, baseDelayMs: 5000, maxDelayMs: 5000 });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const started = Date.now();
  const err = await client.read('/version', { signal: controller.signal }).catch((e: unknown) => e);
  expect(err).toMatchObject({ name: 'AbortError' });
  expect(Date.now() - started).toBeLessThan(1000);
});

test('503s and a 429 with Retry-After on the way are retried; the apply goes through', async () => {
  // A plain-HTTP front that answers some requests itself and forwards the rest to the real API
  // server as the admin: faults on demand, the real server behind them.
  const server = new URL(adminConnection.server);
  const field = (name: string) => Buffer.from(new RegExp(`${name}:\\s*(\\S+)`).exec(ADMIN_KUBECONFIG)?.[1] ?? '', 'base64');
  const agent = new https.Agent({ ca: field('certificate-authority-data'), cert: field('client-certificate-data'), key: field('client-key-data') });
  const faults = [
    { status: 503, body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'etcd leader changed', reason: 'ServiceUnavailable', code: 503 }) },
    { status: 503, body: 'upstream connect error' },
    { status: 429, body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too many requests', reason: 'TooManyRequests', code: 429 }), headers: { 'retry-after': '1' } },
  ];
  const seen: string[] = [];
  const front = http.createServer((req, res) => {
    const fault = req.method === 'PATCH' ? faults.shift() : undefined;
    seen.push(`${req.method} ${fault ? fault.status : 'forwarded'}`);
    if (fault) {
      res.writeHead(fault.status, { 'content-type': fault.body.startsWith('{') ? 'application/json' : 'text/plain', ...(fault.headers ?? {}) });
      res.end(fault.body);
      return;
    }
    const upstream = https.request({ host: server.hostname, port: server.port, path: req.url, method: req.method, headers: req.headers, agent }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const { port } = front.address() as net.AddressInfo;
  try {
    await inNamespace('kube-faults', async (ns) => {
      const config = `apiVersion: v1\nkind: Config\nclusters:\n- name: front\n  cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}\nusers:\n- name: anonymous\n  user: {}\ncontexts:\n- name: front\n  context: {cluster: front, user: anonymous}\ncurrent-context: front\n`;
      const c = await connect({ ...quiet, kubeconfig: config, tempDir: temp });
      const client = new KubeClient(c.kubeConfig, { baseDelayMs: 50, maxDelayMs: 300 }); // Retry-After is honoured up to 4 × maxDelayMs
      const started = Date.now();
      const r = await applyBundle(client, [configMap('c', { a: '1' })], { namespace: ns, log });
      expect(outcomes(r)).toEqual({ 'ConfigMap/c': 'created' });
      expect(seen.filter((s) => s.startsWith('PATCH'))).toEqual(['PATCH 503', 'PATCH 503', 'PATCH 429', 'PATCH forwarded']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // Retry-After: 1 was honoured
    });
  } finally {
    front.close();
    front.closeAllConnections();
    agent.destroy();
  }
});
