// deploy's delete mode on the test bed's real control plane: a preview environment deployed into a
// namespace deploy created, then deleted with everything in it; a release deleted from a namespace
// someone else owns, which stays with their objects; an object another tool also applies, kept and
// named; and nothing to delete.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { act, expectNoStackTrace } from '../support/actions';
import { testCluster } from '../support/cluster';

const cluster = testCluster();
const kubeconfig = cluster.kubeconfig;
const work = mkdtempSync(join(tmpdir(), 'kubeline-undeploy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const app = (): string => {
  const file = join(mkdtempSync(join(work, 'app-')), 'app.yaml');
  writeFileSync(
    file,
    `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: "ghcr.io/acme/web@sha256:${'7'.repeat(64)}" }] }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { selector: { app: web }, ports: [{ port: 80 }] }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: web-config }
data: { mode: preview }
`,
  );
  return file;
};
const deploy = (inputs: Record<string, string>) => act('deploy', { kubeconfig, release: 'web', timeout: '60s', ...inputs });
const get = (kind: string, namespace: string, name: string, apiVersion = kind === 'Deployment' ? 'apps/v1' : 'v1') => cluster.client.get({ apiVersion, kind, namespace, name });
const records = async (ns: string) => (await cluster.client.list('v1', 'Secret', { namespace: ns, labelSelector: 'kubeline.dev/release=web' })).length;

test('a preview environment: deployed into a namespace deploy created, deleted with it', async () => {
  const ns = cluster.namespace('pr-42');
  const up = await deploy({ manifests: app(), namespace: ns, 'create-namespace': 'true' });
  expect(up.outputs.status).toBe('deployed');
  const down = await deploy({ namespace: ns, delete: 'true' });
  expectNoStackTrace(down);
  expect(down.conclusion).toBe('success');
  expect(down.outputs.status).toBe('deleted');
  expect(JSON.parse(down.outputs.objects).map((o: any) => `${o.kind}/${o.name} ${o.outcome}`).sort()).toEqual(['ConfigMap/web-config deleted', 'Deployment/web deleted', 'Service/web deleted']);
  expect(down.summary).toMatch(/Deleted 3 objects and the records of revision 1, then namespace `pr-42-\w+` \(created for this release\)/);
  const namespace = (await cluster.client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })) as any;
  expect(namespace === undefined || namespace.status.phase === 'Terminating').toBe(true);
});

test('a namespace someone else owns stays, with their objects; ours and the records go', async () => {
  const ns = cluster.namespace('shared');
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await cluster.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'theirs', namespace: ns }, data: { a: '1' } });
  expect((await deploy({ manifests: app(), namespace: ns })).outputs.status).toBe('deployed');
  // Another tool applies the Service too: it is no longer ours alone.
  await cluster.client.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } }, { fieldManager: 'helm' });
  const down = await deploy({ namespace: ns, delete: 'true' });
  expectNoStackTrace(down);
  expect(down.outputs.status).toBe('deleted');
  expect(await get('Deployment', ns, 'web')).toBeUndefined();
  expect(await get('ConfigMap', ns, 'web-config')).toBeUndefined();
  expect(await get('Service', ns, 'web')).toBeDefined();
  expect(down.summary).toMatch(/kept Service web: it is also applied by "helm"/);
  expect(await get('ConfigMap', ns, 'theirs')).toBeDefined();
  expect(((await cluster.client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })) as any).status.phase).toBe('Active');
  expect(await records(ns)).toBe(0);
  // Deleting again: nothing to delete, still a success.
  const again = await deploy({ namespace: ns, delete: 'true' });
  expect(again.conclusion).toBe('success');
  expect(again.summary).toMatch(/Nothing to delete/);
});

test('delete with dry-run is refused, naming both inputs', async () => {
  const r = await deploy({ namespace: 'default', delete: 'true', 'dry-run': 'true' });
  expect(r.conclusion).toBe('failure');
  expect(r.annotations.find((a) => a.level === 'error')?.message).toMatch(/delete.*conflicts with dry-run/);
});
