// deploy's release records against what was applied, on the test bed's control plane: the record is
// written before the first object, so a first release refused mid-apply is cleaned up by the next
// deploy; and an identity that may apply but not write records is refused before anything changes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { act, expectNoStackTrace } from '../support/actions';
import { testCluster } from '../support/cluster';

const cluster = testCluster();
const kubeconfig = cluster.kubeconfig;
const work = mkdtempSync(join(tmpdir(), 'kubeline-records-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const file = (yaml: string): string => {
  const path = join(mkdtempSync(join(work, 'b-')), 'app.yaml');
  writeFileSync(path, yaml);
  return path;
};
const deployment = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: "ghcr.io/acme/web@sha256:${'5'.repeat(64)}" }] }
`;
const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: leftover }\ndata: { a: "1" }\n';

test('a first release refused mid-apply is recorded as failed with what it created, and the next deploy prunes it', async () => {
  const ns = cluster.namespace('records');
  // The ConfigMap is applied, then the API server refuses the Deployment (replicas: -1).
  const first = await act('deploy', { kubeconfig, manifests: file(`${configMap}---\n${deployment(-1)}`), release: 'web', namespace: ns, 'create-namespace': 'true' });
  expectNoStackTrace(first);
  expect(first.conclusion).toBe('failure');
  expect(await cluster.client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'leftover' })).toBeDefined();
  const record = (await cluster.client.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'kubeline.release.web.v1' })) as any;
  expect(record.metadata.labels['kubeline.dev/status']).toBe('failed');
  expect(JSON.parse(Buffer.from(record.data['release.json'], 'base64').toString()).objects.map((o: any) => o.kind)).toEqual(expect.arrayContaining(['ConfigMap', 'Deployment']));
  // The next release, without the ConfigMap: it goes.
  const second = await act('deploy', { kubeconfig, manifests: file(deployment(1)), release: 'web', namespace: ns });
  expect(second.outputs.status).toBe('deployed');
  expect(await cluster.client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'leftover' })).toBeUndefined();
  expect(JSON.parse(second.outputs.objects)).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'ConfigMap', name: 'leftover', outcome: 'pruned' })]));
});

test('an identity that may apply but not write release records is refused before anything is applied, naming the rights it lacks', async () => {
  const ns = cluster.namespace('records-rbac');
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await cluster.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: ns } });
  await cluster.client.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'apply-only', namespace: ns },
    rules: [
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update', 'delete'] },
    ],
  });
  await cluster.client.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'apply-only', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'apply-only' },
    subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: ns }],
  });
  const token = ((await cluster.client.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/serviceaccounts/deployer/token`, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } } })).body as any).status.token;
  const config = parse(kubeconfig);
  config.users = [{ name: 'deployer', user: { token } }];
  config.contexts = [{ name: 'deployer', context: { cluster: config.clusters[0].name, user: 'deployer', namespace: ns } }];
  config['current-context'] = 'deployer';
  const r = await act('deploy', { kubeconfig: stringify(config), manifests: file(deployment(1)), release: 'web', namespace: ns });
  expectNoStackTrace(r);
  expect(r.conclusion).toBe('failure');
  const error = r.annotations.find((a) => a.level === 'error')?.message ?? '';
  expect(error).toMatch(/cannot do what this deploy needs, so nothing was applied/);
  expect(error).toMatch(/create secrets in namespace .*: the release record/);
  expect(error).toMatch(/patch secrets/);
  expect(error).not.toMatch(/patch apps\/deployments/);
  expect(await cluster.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' })).toBeUndefined();
  expect(await cluster.client.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name: 'kubeline-web' })).toBeUndefined();
});

test('an object of another release is not taken over silently: refused naming that release, taken over with force-conflicts', async () => {
  const ns = cluster.namespace('records-owner');
  const shared = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: shared }\ndata: { owner: "a" }\n';
  expect((await act('deploy', { kubeconfig, manifests: file(shared), release: 'app-a', namespace: ns, 'create-namespace': 'true' })).outputs.status).toBe('deployed');
  const refused = await act('deploy', { kubeconfig, manifests: file(shared.replace('"a"', '"b"')), release: 'app-b', namespace: ns });
  expectNoStackTrace(refused);
  expect(refused.conclusion).toBe('failure');
  expect(refused.annotations.find((a) => a.level === 'error')?.message).toMatch(/ConfigMap .*shared belongs to release "app-a".*force-conflicts: true/s);
  const live = (await cluster.client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'shared' })) as any;
  expect([live.data.owner, live.metadata.annotations['kubeline.dev/release']]).toEqual(['a', 'app-a']);
  const taken = await act('deploy', { kubeconfig, manifests: file(shared.replace('"a"', '"b"')), release: 'app-b', namespace: ns, 'force-conflicts': 'true' });
  expect(taken.outputs.status).toBe('deployed');
  const after = (await cluster.client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'shared' })) as any;
  expect([after.data.owner, after.metadata.annotations['kubeline.dev/release']]).toEqual(['b', 'app-b']);
});
