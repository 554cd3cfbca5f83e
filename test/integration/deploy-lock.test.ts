// deploy's lock on the test bed's control plane, lost mid-wait: its Lease deleted, or taken over by
// another run. The run must notice at its next renewal, stop waiting, leave the release to the other
// run (no rollback, no prune, its revision never marked deployed) and say why.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, deploy, type DeployOutcome, KubeClient, microTime, readDeploySettings } from '../../packages/kube/src/index';
import { Inputs, objectInputs } from '../../packages/toolkit/src/index';
import { uniqueName } from '../support/actions';

const kubeconfigPath = process.env.KUBELINE_KUBECONFIG;
if (!kubeconfigPath) throw new Error('The test cluster is not up: run `eval "$(scripts/cluster up)"` (it sets KUBELINE_KUBECONFIG), then the tests again.');
const work = mkdtempSync(join(tmpdir(), 'kubeline-lock-'));
let connection: Awaited<ReturnType<typeof connect>>;
let client: KubeClient;
beforeAll(async () => {
  connection = await connect({ env: { ...process.env, KUBECONFIG: kubeconfigPath }, saveState: () => {}, setSecret: () => {} });
  client = new KubeClient(connection.kubeConfig);
});
const namespaces: string[] = [];
afterAll(async () => {
  for (const ns of namespaces) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

const bundle = (image: string): string => {
  const file = join(mkdtempSync(join(work, 'b-')), 'app.yaml');
  writeFileSync(file, `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: "${image}" }] }
`);
  return file;
};

/** deploy() with a short lease (renewed every second); `onWaiting` runs once the wait has started. */
async function run(ns: string, image: string, onWaiting?: () => Promise<unknown>): Promise<{ outcome: DeployOutcome; tookMs: number }> {
  const settings = readDeploySettings(new Inputs(objectInputs({ manifests: bundle(image), release: 'web', namespace: ns, 'create-namespace': 'true', timeout: '90s' })));
  const started = Date.now();
  let fired = false;
  const outcome = await deploy(settings, { client: new KubeClient(connection.kubeConfig, { defaultNamespace: ns }), connection }, {
    saveState: () => {},
    lock: { leaseDurationSeconds: 10, renewEveryMs: 1000 },
    log: (line) => {
      if (!fired && onWaiting && /^waiting for|progress|not ready|of 1/.test(line)) {
        fired = true;
        void onWaiting();
      }
    },
  });
  return { outcome, tookMs: Date.now() - started };
}
const statuses = async (ns: string) =>
  Object.fromEntries(((await client.list('v1', 'Secret', { namespace: ns, labelSelector: 'kubeline.dev/release=web' })) as any[]).map((s) => [s.metadata.labels['kubeline.dev/revision'], s.metadata.labels['kubeline.dev/status']]));
const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: 'kubeline-web' };
const image = (name: string, c: string) => `ghcr.io/acme/${name}@sha256:${c.repeat(64)}`;

test('the Lease deleted mid-wait: the run stops within seconds, its revision failed with the reason, nothing rolled back', async () => {
  const ns = uniqueName('lock-deleted');
  namespaces.push(ns);
  expect((await run(ns, image('web', '1'))).outcome.status).toBe('deployed');
  const { outcome, tookMs } = await run(ns, image('slow-60s', '2'), () => client.delete({ ...lease, namespace: ns }));
  expect(outcome.status).toBe('failed');
  expect(outcome.failure).toMatch(/lock of release web was lost \(its Lease was deleted\).*without marking its revision deployed/);
  expect(tookMs).toBeLessThan(30_000);
  expect(outcome.rollback).toEqual({ skipped: 'the lock was lost' });
  expect(await statuses(ns)).toEqual({ '1': 'deployed', '2': 'failed' });
});

test('the Lease taken over by another run: the first run leaves the release to it', async () => {
  const ns = uniqueName('lock-taken');
  namespaces.push(ns);
  expect((await run(ns, image('web', '3'))).outcome.status).toBe('deployed');
  const takeOver = async () => {
    const live = (await client.get({ ...lease, namespace: ns })) as any;
    live.spec.holderIdentity = 'another-run';
    live.spec.renewTime = microTime(new Date());
    await client.replace(live);
  };
  const { outcome } = await run(ns, image('slow-60s', '4'), takeOver);
  expect(outcome.status).toBe('failed');
  expect(outcome.failure).toMatch(/lock of release web was lost \(it is now held by another-run/);
  expect(((await client.get({ ...lease, namespace: ns })) as any).spec.holderIdentity).toBe('another-run'); // not released by the loser
  expect(await statuses(ns)).toEqual({ '1': 'deployed', '2': 'failed' });
});
