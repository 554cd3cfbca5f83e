// deploy on the test bed's control plane: a migration Job (pre-deploy) that must complete before
// the Deployment rolls out — and a failing one that stops the deploy with the workloads untouched
// and the last good release live — and an image pull secret made from registry credentials, named
// in the pod specs and kept out of the release record and the log.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { act, expectNoStackTrace, uniqueName } from '../support/actions';
import { testCluster } from '../support/cluster';

const cluster = testCluster();
const kubeconfig = cluster.kubeconfig;
const work = mkdtempSync(join(tmpdir(), 'kubeline-phases-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The app and its migration Job (`migrateImage`), annotated to run before the workloads. */
function bundle(appImage: string, migrateImage: string, annotation = 'kubeline.dev/phase: pre-deploy'): string {
  const file = join(mkdtempSync(join(work, 'b-')), 'app.yaml');
  writeFileSync(
    file,
    `apiVersion: v1
kind: ConfigMap
metadata: { name: db }
data: { url: "postgres://db:5432/app" }
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: { ${annotation} }
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: migrate, image: "${migrateImage}", envFrom: [{ configMapRef: { name: db } }] }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: "${appImage}" }] }
`,
  );
  return file;
}
const img = (name: string, c: string) => `registry.example.com/acme/${name}@sha256:${c.repeat(64)}`;
const deploy = (inputs: Record<string, string>) => act('deploy', { kubeconfig, release: 'web', timeout: '60s', ...inputs });

test('a pre-deploy migration Job completes before the Deployment is applied; it runs again on the next release', async () => {
  const ns = cluster.namespace('phases');
  const r = await deploy({ manifests: bundle(img('web', '1'), img('migrate', '1')), namespace: ns, 'create-namespace': 'true' });
  expectNoStackTrace(r);
  expect(r.outputs.status).toBe('deployed');
  const job = (await cluster.client.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'migrate' })) as any;
  const web = (await cluster.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' })) as any;
  expect(job.status.succeeded).toBe(1);
  // The API server's clock: the Deployment was created after the Job completed (seconds, so not before).
  expect(Date.parse(web.metadata.creationTimestamp)).toBeGreaterThanOrEqual(Date.parse(job.status.completionTime));
  expect(r.log).toMatch(/pre-deploy: Job migrate must complete before 1 workload\(s\) roll out/);
  const firstUid = job.metadata.uid;
  // The next release runs its migration again (a new Job, the old one deleted first).
  const next = await deploy({ manifests: bundle(img('web', '2'), img('migrate', '2')), namespace: ns });
  expect(next.outputs.status).toBe('deployed');
  const again = (await cluster.client.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'migrate' })) as any;
  expect(again.metadata.uid).not.toBe(firstUid);
  expect(again.spec.template.spec.containers[0].image).toBe(img('migrate', '2'));
});

test('a failing migration stops the deploy: the Deployment is not touched and the last good release stays live', async () => {
  const ns = cluster.namespace('phases-fail');
  expect((await deploy({ manifests: bundle(img('web', '3'), img('migrate', '3'), 'helm.sh/hook: "pre-install,pre-upgrade"'), namespace: ns, 'create-namespace': 'true' })).outputs.status).toBe('deployed');
  const before = (await cluster.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' })) as any;
  const r = await deploy({ manifests: bundle(img('web', '4'), img('job-fail', '4'), 'helm.sh/hook: "pre-install,pre-upgrade"'), namespace: ns });
  expectNoStackTrace(r);
  expect(r.conclusion).toBe('failure');
  expect(r.outputs.status).toBe('rolled-back');
  expect(r.annotations.find((a) => a.level === 'error')?.message).toMatch(/pre-deploy .*Job migrate.*; the workloads were not changed/);
  const after = (await cluster.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' })) as any;
  expect(after.metadata.generation).toBe(before.metadata.generation);
  expect(after.spec.template.spec.containers[0].image).toBe(img('web', '3'));
  // The old migration is not run again by the rollback.
  expect(await cluster.client.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'migrate' })).toBeUndefined();
});

test('image-pull-secret: a dockerconfigjson Secret from the registry credentials, named in every pod spec, never in the record or the log', async () => {
  const ns = cluster.namespace('pull');
  const password = `pw-${uniqueName('secret')}`;
  const r = await deploy({
    manifests: bundle(img('web', '5'), img('migrate', '5')),
    namespace: ns,
    'create-namespace': 'true',
    'image-pull-secret': 'registry-pull',
    registry: 'registry.example.com',
    'registry-username': 'puller',
    'registry-password': password,
  });
  expectNoStackTrace(r);
  expect(r.outputs.status).toBe('deployed');
  const secret = (await cluster.client.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'registry-pull' })) as any;
  expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
  const config = JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString());
  expect(config.auths['registry.example.com']).toEqual({ username: 'puller', password, auth: Buffer.from(`puller:${password}`).toString('base64') });
  const web = (await cluster.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' })) as any;
  const job = (await cluster.client.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'migrate' })) as any;
  expect(web.spec.template.spec.imagePullSecrets).toEqual([{ name: 'registry-pull' }]);
  expect(job.spec.template.spec.imagePullSecrets).toEqual([{ name: 'registry-pull' }]);
  const record = (await cluster.client.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'kubeline.release.web.v1' })) as any;
  const stored = gunzipSync(Buffer.from(record.data['bundle.json.gz'], 'base64')).toString() + Buffer.from(record.data['release.json'], 'base64').toString();
  expect(stored).toContain('registry-pull');
  expect(stored).not.toContain(password);
  expect(r.log).not.toContain(password);
  // Delete mode removes the pull secret with the release.
  expect((await deploy({ namespace: ns, delete: 'true' })).outputs.status).toBe('deleted');
  expect(await cluster.client.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'registry-pull' })).toBeUndefined();
});

test('registry credentials without image-pull-secret are refused, naming the input', async () => {
  const r = await deploy({ manifests: bundle(img('web', '6'), img('migrate', '6')), namespace: 'default', 'registry-password': 'x' });
  expect(r.conclusion).toBe('failure');
  expect(r.annotations.find((a) => a.level === 'error')?.message).toMatch(/registry-password.*image-pull-secret is not/);
});
