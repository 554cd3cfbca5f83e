// deploy through the local runner against the test bed's real control plane (scripts/cluster):
// the example app rendered by render-and-validate-manifests and deployed to staging and
// production, a release whose pods never get ready diagnosed and rolled back to the last good
// one, a failing Job failing the deploy, and a cancelled deploy that leaves no lock behind.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, KubeClient } from '../../packages/kube/src/index';
import { act, expectNoStackTrace, uniqueName } from '../support/actions';

const kubeconfigPath = process.env.KUBELINE_KUBECONFIG;
if (!kubeconfigPath) throw new Error('The test cluster is not up: run `eval "$(scripts/cluster up)"` (it sets KUBELINE_KUBECONFIG), then the tests again.');
const kubeconfig = readFileSync(kubeconfigPath, 'utf8');
const digest = (c: string) => `sha256:${c.repeat(64)}`;

let client: KubeClient;
beforeAll(async () => {
  const connection = await connect({ env: { ...process.env, KUBECONFIG: kubeconfigPath }, saveState: () => {}, setSecret: () => {} });
  client = new KubeClient(connection.kubeConfig);
});

const namespaces: string[] = [];
afterAll(async () => {
  for (const ns of namespaces) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
});

/** The example app rendered for an environment with the given image, as a bundle file. */
async function render(environment: string, image: string, namespace: string): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'kubeline-deploy-'));
  const r = await act('render-and-validate-manifests', { path: 'examples/demo/deploy', environment, images: `demo=${image}`, 'output-dir': out, 'fail-on': 'error' });
  expect(r.conclusion).toBe('success');
  // The overlays name their namespace; each test deploys into its own.
  const bundle = readFileSync(r.outputs.manifests, 'utf8').replaceAll(`namespace: demo-${environment}`, `namespace: ${namespace}`);
  writeFileSync(r.outputs.manifests, bundle);
  return r.outputs.manifests;
}

const deploy = (inputs: Record<string, string>, cancelWhen?: (line: string) => boolean) =>
  act('deploy', { kubeconfig, ...inputs }, { cancelWhen });

async function liveImage(namespace: string, name: string): Promise<string> {
  const d = (await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name })) as any;
  return d.spec.template.spec.containers[0].image;
}

describe('deploy on the real control plane', () => {
  test('the example app deploys to a staging and a production namespace', async () => {
    for (const env of ['staging', 'production']) {
      const ns = uniqueName(`demo-${env}`);
      namespaces.push(ns);
      const image = `ghcr.io/acme/demo@${digest('a')}`;
      const r = await deploy({ manifests: await render(env, image, ns), release: 'demo', namespace: ns, 'create-namespace': 'true' });
      expectNoStackTrace(r);
      expect(r.conclusion).toBe('success');
      expect(r.outputs.status).toBe('deployed');
      expect(r.outputs.revision).toBe('1');
      expect(r.outputs.images).toBe(image);
      expect(JSON.parse(r.outputs.objects)).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'Deployment', name: 'demo', namespace: ns, outcome: 'created' })]));
      expect(await liveImage(ns, 'demo')).toBe(image);
      const d = (await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'demo' })) as any;
      expect(d.status.availableReplicas).toBe(env === 'production' ? 3 : 1);
      expect(r.summary).toMatch(/Deployment .*demo \| created \| \d+ms/);
    }
  });

  test('an image that never becomes ready is detected, diagnosed and rolled back', async () => {
    const ns = uniqueName('demo-rollback');
    namespaces.push(ns);
    const good = `ghcr.io/acme/demo@${digest('b')}`;
    const first = await deploy({ manifests: await render('staging', good, ns), release: 'demo', namespace: ns, 'create-namespace': 'true' });
    expect(first.outputs.status).toBe('deployed');

    const bad = `ghcr.io/acme/never-ready@${digest('c')}`;
    const started = Date.now();
    const r = await deploy({ manifests: await render('staging', bad, ns), release: 'demo', namespace: ns, timeout: '15s' });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(r.outputs.status).toBe('rolled-back');
    expect(r.outputs.revision).toBe('1');
    expect(r.outputs.images).toBe(good);
    expect(Date.now() - started).toBeLessThan(60_000);
    // The diagnosis names the failing probe; the previous release is live again.
    expect(r.summary).toContain('Readiness probe failed');
    expect(r.summary).toMatch(/Rolled back to revision 1: live again/);
    expect(r.annotations.find((a) => a.level === 'error')?.message).toMatch(/timed out after 15s waiting for Deployment demo.*rolled back to revision 1/);
    expect(await liveImage(ns, 'demo')).toBe(good);
    const d = (await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'demo' })) as any;
    expect(d.status.availableReplicas).toBe(1);
    // Release records: revision 2 rolled back, revision 1 the deployed one again.
    const records = (await client.list('v1', 'Secret', { namespace: ns, labelSelector: 'kubeline.dev/release=demo' })) as any[];
    const status = Object.fromEntries(records.map((s) => [s.metadata.labels['kubeline.dev/revision'], s.metadata.labels['kubeline.dev/status']]));
    expect(status).toEqual({ '1': 'deployed', '2': 'rolled-back' });
  });

  test('a failing Job fails the deploy, with the Job\'s reason', async () => {
    const ns = uniqueName('demo-job');
    namespaces.push(ns);
    const dir = mkdtempSync(join(tmpdir(), 'kubeline-job-'));
    writeFileSync(
      join(dir, 'job.yaml'),
      `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: ghcr.io/acme/job-fail@${digest('d')}
`,
    );
    const r = await deploy({ manifests: dir, release: 'migrate', namespace: ns, 'create-namespace': 'true', timeout: '60s' });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(r.outputs.status).toBe('failed');
    expect(r.annotations.find((a) => a.level === 'error')?.message).toMatch(/Job migrate.*(BackoffLimitExceeded|failed)/i);
    expect(r.summary).toMatch(/first release/);
  });

  test('a cancelled deploy leaves no lock: the post step releases it and the next deploy goes ahead', async () => {
    const ns = uniqueName('demo-cancel');
    namespaces.push(ns);
    const slow = `ghcr.io/acme/slow-60s@${digest('e')}`;
    const cancelled = await deploy({ manifests: await render('staging', slow, ns), release: 'demo', namespace: ns, 'create-namespace': 'true' }, (line) => line.startsWith('waiting for'));
    expect(cancelled.conclusion).toBe('failure');
    expect(cancelled.postExitCode).toBe(0);
    const leases = (await client.list('coordination.k8s.io/v1', 'Lease', { namespace: ns })) as any[];
    expect(leases.map((l) => l.metadata.name)).not.toContain('kubeline-demo');

    const next = await deploy({ manifests: await render('staging', `ghcr.io/acme/demo@${digest('f')}`, ns), release: 'demo', namespace: ns, 'lock-timeout': '10s' });
    expect(next.outputs.status).toBe('deployed');
  });

  test('dry-run shows the diff and changes nothing', async () => {
    const ns = uniqueName('demo-dry');
    namespaces.push(ns);
    const image = `ghcr.io/acme/demo@${digest('1')}`;
    await deploy({ manifests: await render('staging', image, ns), release: 'demo', namespace: ns, 'create-namespace': 'true' });
    const r = await deploy({ manifests: await render('staging', `ghcr.io/acme/demo@${digest('2')}`, ns), release: 'demo', namespace: ns, 'dry-run': 'true' });
    expect(r.outputs.status).toBe('dry-run');
    expect(r.outputs.diff).toMatch(/^-\s+image: ghcr.io\/acme\/demo@sha256:1{64}$/m);
    expect(r.outputs.diff).toMatch(/^\+\s+image: ghcr.io\/acme\/demo@sha256:2{64}$/m);
    expect(await liveImage(ns, 'demo')).toBe(image);
  });

  test('bad input is refused before anything is applied', async () => {
    const r = await deploy({ manifests: '/nonexistent', release: 'demo', timeout: 'five minutes' });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(r.log).toMatch(/input 'timeout'/);
    const r2 = await act('deploy', { kubeconfig: 'not: [a kubeconfig', manifests: 'examples/demo/deploy/base', release: 'demo' });
    expect(r2.conclusion).toBe('failure');
    expect(r2.log).toMatch(/input 'kubeconfig'/);
  });
});
