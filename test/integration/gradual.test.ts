// Gradual delivery on the test bed's real control plane (scripts/cluster, its controllers, and the
// fake kubelet that makes pods Ready, crash or fail on demand): canary steps by replicas and by
// HTTPRoute weights, blue-green with its switch and switch back, checks that abort, a manual gate
// paused in one runner process and resumed or aborted by another, a rollout someone changed while
// it was paused, and a job cancelled mid-step. What the rollout did is read back from the cluster
// while it runs (at each step's "ready" line) and after it: Deployments' replicas and images,
// Service selectors, route weights, release records.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, deploy, type DeployOutcome, KubeClient, readDeploySettings } from '../../packages/kube/src/index';
import { Inputs, objectInputs } from '../../packages/toolkit/src/index';
import { act, expectNoStackTrace, uniqueName } from '../support/actions';
import { repoRoot } from '../support/actions';

const kubeconfigPath = process.env.KUBELINE_KUBECONFIG;
if (!kubeconfigPath) throw new Error('The test cluster is not up: run `eval "$(scripts/cluster up)"` (it sets KUBELINE_KUBECONFIG), then the tests again.');
const kubeconfig = readFileSync(kubeconfigPath, 'utf8');
const image = (name: string, c: string) => `ghcr.io/acme/${name}@sha256:${c.repeat(64)}`;
const work = mkdtempSync(join(tmpdir(), 'kubeline-gradual-'));

let client: KubeClient;
let connection: Awaited<ReturnType<typeof connect>>;
beforeAll(async () => {
  connection = await connect({ env: { ...process.env, KUBECONFIG: kubeconfigPath }, saveState: () => {}, setSecret: () => {} });
  client = new KubeClient(connection.kubeConfig);
});
const namespaces: string[] = [];
afterAll(async () => {
  for (const ns of namespaces) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});
const namespace = (prefix: string): string => {
  const ns = uniqueName(prefix);
  namespaces.push(ns);
  return ns;
};

/** The app: a Deployment `web` (with `replicas`) and its Service; with `route`, an HTTPRoute in front; with `ingress`, an nginx Ingress; with `hpa`, an autoscaler. */
function bundle(img: string, options: { replicas?: number; route?: boolean; ingress?: boolean; hpa?: boolean } = {}): string {
  const file = join(mkdtempSync(join(work, 'bundle-')), 'app.yaml');
  let yaml = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${options.replicas ?? 4}
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: ${img}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`;
  if (options.route) {
    yaml += `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - backendRefs: [{ name: web, port: 80 }]
`;
  }
  if (options.ingress) {
    yaml += `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  ingressClassName: nginx
  rules:
    - host: web.example.com
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }
`;
  }
  if (options.hpa) {
    yaml += `---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }
  minReplicas: 2
  maxReplicas: 8
  metrics: [{ type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 80 } } }]
`;
  }
  writeFileSync(file, yaml);
  return file;
}

/** deploy() in this process, as the action's main step calls it; `onLine` sees every log line. */
async function run(inputs: Record<string, string>, onLine?: (line: string) => void): Promise<{ outcome: DeployOutcome; log: string[] }> {
  const settings = readDeploySettings(new Inputs(objectInputs({ 'step-duration': '1s', 'check-interval': '1s', timeout: '60s', ...inputs })));
  const log: string[] = [];
  const c = new KubeClient(connection.kubeConfig, { defaultNamespace: settings.namespace });
  const outcome = await deploy(settings, { client: c, connection }, {
    env: { ...process.env },
    saveState: () => {},
    log: (line) => {
      log.push(line);
      onLine?.(line);
    },
  });
  return { outcome, log };
}

const getDeployment = async (ns: string, name: string): Promise<any> => client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name });
const getService = async (ns: string, name: string): Promise<any> => client.get({ apiVersion: 'v1', kind: 'Service', namespace: ns, name });
async function records(ns: string, release = 'web'): Promise<Record<string, string>> {
  const secrets = (await client.list('v1', 'Secret', { namespace: ns, labelSelector: `kubeline.dev/release=${release}` })) as any[];
  return Object.fromEntries(secrets.map((s) => [s.metadata.labels['kubeline.dev/revision'], s.metadata.labels['kubeline.dev/status']]));
}
async function rolloutOf(ns: string, revision: number, release = 'web'): Promise<any> {
  const s = (await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: `kubeline.release.${release}.v${revision}` })) as any;
  return JSON.parse(s.metadata.annotations['kubeline.dev/rollout']);
}

/** At each step's "ready" line, what the cluster has: replicas and images of web and web-canary, the Service selector. */
function snapshots(ns: string): { onLine: (line: string) => void; taken: Promise<any>[] } {
  const taken: Promise<any>[] = [];
  const onLine = (line: string) => {
    const m = /^step (\d+) of \d+ \((\d+) %.*\): ready after/.exec(line);
    if (!m) return;
    taken.push(
      (async () => {
        const [web, canary, green, svc] = await Promise.all([getDeployment(ns, 'web'), getDeployment(ns, 'web-canary'), getDeployment(ns, 'web-green'), getService(ns, 'web')]);
        const route = (await client.get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', namespace: ns, name: 'web' }).catch(() => undefined)) as any;
        return {
          step: Number(m[1]),
          weight: Number(m[2]),
          stable: web?.status?.readyReplicas ?? 0,
          stableImage: web?.spec.template.spec.containers[0].image,
          canary: canary?.status?.readyReplicas ?? 0,
          canaryImage: canary?.spec.template.spec.containers[0].image,
          green: green?.status?.readyReplicas,
          selector: svc?.spec.selector,
          backends: route?.spec.rules[0].backendRefs.map((b: any) => `${b.name}=${b.weight ?? 1}`),
        };
      })(),
    );
  };
  return { onLine, taken };
}

/** A first release, rolling, so that the next one has a stable version to protect. */
async function firstRelease(ns: string, img: string, options: Parameters<typeof bundle>[1] = {}): Promise<void> {
  const { outcome, log } = await run({ manifests: bundle(img, options), release: 'web', namespace: ns, 'create-namespace': 'true', strategy: 'canary' });
  expect(outcome.status).toBe('deployed');
  expect(log.join('\n')).toMatch(/first release of web here, with nothing live to protect: it is deployed as a rolling update/);
}

describe('canary by replicas', () => {
  test('the app goes 10 → 25 → 50 → 100: the canary share of ready pods follows the steps, the check sees each weight, the canary is gone at the end', async () => {
    const ns = namespace('canary');
    const v1 = image('web', 'a');
    const v2 = image('web', 'b');
    await firstRelease(ns, v1, { replicas: 10 });
    const seen = join(work, `${ns}-weights`);
    const snap = snapshots(ns);
    const { outcome } = await run(
      { manifests: bundle(v2, { replicas: 10 }), release: 'web', namespace: ns, strategy: 'canary', check: `echo "$KUBELINE_STEP:$KUBELINE_WEIGHT:$KUBELINE_NAMESPACE" >> ${seen}` },
      snap.onLine,
    );
    expect(outcome.failure).toBeUndefined();
    expect(outcome.status).toBe('deployed');
    expect(outcome.revision).toBe(2);
    const steps = await Promise.all(snap.taken);
    expect(steps.map((s) => [s.weight, s.canary, s.stable])).toEqual([
      [10, 1, 9],
      [25, 3, 7],
      [50, 5, 5],
    ]);
    for (const s of steps) {
      expect(s.canaryImage).toBe(v2);
      expect(s.stableImage).toBe(v1);
      expect(s.selector).toEqual({ app: 'web' }); // one Service in front of both
    }
    expect([...new Set(readFileSync(seen, 'utf8').trim().split('\n'))]).toEqual([`1:10:${ns}`, `2:25:${ns}`, `3:50:${ns}`]);
    const web = await getDeployment(ns, 'web');
    expect(web.spec.template.spec.containers[0].image).toBe(v2);
    expect(web.status.readyReplicas).toBe(10);
    expect(await getDeployment(ns, 'web-canary')).toBeUndefined();
    expect(await records(ns)).toEqual({ '1': 'superseded', '2': 'deployed' });
    const history = (await rolloutOf(ns, 2)).history;
    expect(history.map((h: any) => [h.weight, h.result])).toEqual([
      [10, 'passed'],
      [25, 'passed'],
      [50, 'passed'],
      [100, 'passed'],
    ]);
    expect(history[0].replicas).toEqual({ canary: 1, stable: 9 });
  });

  test('a crash-looping image is aborted at 10 %, with the diagnosis, and the stable version back at full replicas', async () => {
    const ns = namespace('canary-crash');
    const v1 = image('web', 'c');
    await firstRelease(ns, v1);
    const started = Date.now();
    const { outcome } = await run({ manifests: bundle(image('crash', 'd')), release: 'web', namespace: ns, strategy: 'canary', 'step-duration': '30s' });
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.revision).toBe(1);
    expect(outcome.failure).toMatch(/^step 1 of 4 \(10 %, real share 25 %\) failed: pod web-canary-\S+ (restarted|is not Ready \(CrashLoopBackOff\))|Warning BackOff/);
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(outcome.diagnosis.map((d) => d.target.name)).toEqual(['web-canary']);
    expect(outcome.diagnosis[0].causes.join(' ')).toMatch(/CrashLoopBackOff|exit code 1|restart/i);
    const web = await getDeployment(ns, 'web');
    expect(web.spec.template.spec.containers[0].image).toBe(v1);
    expect(web.spec.replicas).toBe(4);
    expect(web.status.readyReplicas).toBe(4);
    expect(await getDeployment(ns, 'web-canary')).toBeUndefined();
    expect(await records(ns)).toEqual({ '1': 'deployed', '2': 'rolled-back' });
    expect((await rolloutOf(ns, 2)).history.map((h: any) => h.result)).toEqual(['failed']);
  });

  test('a failing check command aborts at 25 %', async () => {
    const ns = namespace('canary-check');
    const v1 = image('web', 'e');
    await firstRelease(ns, v1);
    const { outcome } = await run({
      manifests: bundle(image('web', 'f')),
      release: 'web',
      namespace: ns,
      strategy: 'canary',
      check: 'if [ "$KUBELINE_WEIGHT" -ge 25 ]; then echo "error rate 7% over 1%" >&2; exit 3; fi',
    });
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.failure).toMatch(/^step 2 of 4 \(25 %\) failed: check `.*` exited with code 3: error rate 7% over 1%/);
    const web = await getDeployment(ns, 'web');
    expect(web.spec.template.spec.containers[0].image).toBe(v1);
    expect(web.status.readyReplicas).toBe(4);
    expect(await getDeployment(ns, 'web-canary')).toBeUndefined();
    expect((await rolloutOf(ns, 2)).history.map((h: any) => [h.weight, h.result])).toEqual([
      [10, 'passed'],
      [25, 'failed'],
    ]);
  });
});

describe('canary by HTTPRoute weights', () => {
  let installed = false;
  beforeAll(async () => {
    // An HTTPRoute CRD (test/fixtures/httproute-crd.yaml, the Gateway API's group and kind): no gateway controller is needed to check what is written.
    const { readManifests, applyBundle } = await import('../../packages/kube/src/index');
    if (await client.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'httproutes.gateway.networking.k8s.io' })) return; // someone's own: use it
    await applyBundle(client, await readManifests(join(repoRoot, 'test', 'fixtures', 'httproute-crd.yaml')), { namespace: 'default', log: () => {} });
    installed = true;
  });
  // The cluster is shared: other tests (the published corpus) install the real Gateway API CRDs.
  afterAll(async () => {
    if (installed) await client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'httproutes.gateway.networking.k8s.io' });
  });

  test('the route carries the weights to a canary Service; the stable Service is pinned to the stable pods, then all is as the bundle says', async () => {
    const ns = namespace('canary-route');
    const v1 = image('web', '1');
    const v2 = image('web', '2');
    await firstRelease(ns, v1, { route: true });
    const snap = snapshots(ns);
    const { outcome } = await run({ manifests: bundle(v2, { route: true }), release: 'web', namespace: ns, strategy: 'canary', steps: '20,50,100' }, snap.onLine);
    expect(outcome.failure).toBeUndefined();
    expect(outcome.status).toBe('deployed');
    const steps = await Promise.all(snap.taken);
    expect(steps.map((s) => s.backends)).toEqual([
      ['web=80', 'web-canary=20'],
      ['web=50', 'web-canary=50'],
    ]);
    // The stable Service selects the stable ReplicaSet's pods only; the canary runs enough pods for its weight.
    for (const s of steps) expect(Object.keys(s.selector).sort()).toEqual(['app', 'pod-template-hash']);
    expect(steps.map((s) => s.canary)).toEqual([1, 2]);
    expect(steps.map((s) => s.stable)).toEqual([4, 4]);
    const route = (await client.get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', namespace: ns, name: 'web' })) as any;
    expect(route.spec.rules[0].backendRefs).toEqual([expect.objectContaining({ name: 'web', port: 80 })]);
    expect(route.spec.rules[0].backendRefs[0].weight ?? 1).toBe(1);
    expect((await getService(ns, 'web')).spec.selector).toEqual({ app: 'web' });
    expect(await getService(ns, 'web-canary')).toBeUndefined();
    expect(await getDeployment(ns, 'web-canary')).toBeUndefined();
    expect((await getDeployment(ns, 'web')).spec.template.spec.containers[0].image).toBe(v2);
  });
});

describe('canary by ingress-nginx weights', () => {
  test('a canary copy of the Ingress carries the canary-weight annotation to the canary Service, and is gone at the end', async () => {
    const ns = namespace('canary-nginx');
    const v2 = image('web', '0');
    await firstRelease(ns, image('web', 'f'), { ingress: true });
    const weights: Promise<any>[] = [];
    const { outcome } = await run({ manifests: bundle(v2, { ingress: true }), release: 'web', namespace: ns, strategy: 'canary', steps: '30,100' }, (line) => {
      if (/^step 1 of 2 .*ready after/.test(line)) weights.push(client.get({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: ns, name: 'web-canary' }));
    });
    expect(outcome.failure).toBeUndefined();
    expect(outcome.status).toBe('deployed');
    const [copy] = (await Promise.all(weights)) as any[];
    expect(copy.metadata.annotations).toMatchObject({ 'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-weight': '30' });
    expect(copy.spec.rules[0].http.paths[0].backend.service.name).toBe('web-canary');
    expect(copy.spec.ingressClassName).toBe('nginx');
    expect(await client.get({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: ns, name: 'web-canary' })).toBeUndefined();
    expect(await getService(ns, 'web-canary')).toBeUndefined();
    expect((await getDeployment(ns, 'web')).spec.template.spec.containers[0].image).toBe(v2);
  });
});

describe('refused before anything is applied', () => {
  test('an HPA scaling the Deployment under traffic by replicas: a clear error naming it and the way out, production untouched, no new record', async () => {
    const ns = namespace('canary-hpa');
    const v1 = image('web', '2');
    await firstRelease(ns, v1, { hpa: true });
    await expect(run({ manifests: bundle(image('web', '3'), { hpa: true }), release: 'web', namespace: ns, strategy: 'canary', traffic: 'replicas' })).rejects.toThrow(
      /cannot roll out gradually:\n  - Deployment web is scaled by HorizontalPodAutoscaler web: .*Use traffic: httproute .* or strategy: blue-green/,
    );
    expect((await getDeployment(ns, 'web')).spec.template.spec.containers[0].image).toBe(v1);
    expect(await getDeployment(ns, 'web-canary')).toBeUndefined();
    expect(await records(ns)).toEqual({ '1': 'deployed' });
  });
});

describe('blue-green', () => {
  test('switches the Service to the new version after the checks, then the old set is replaced', async () => {
    const ns = namespace('bluegreen');
    const v1 = image('web', '3');
    const v2 = image('web', '4');
    await firstRelease(ns, v1);
    const snap = snapshots(ns);
    const { outcome } = await run({ manifests: bundle(v2), release: 'web', namespace: ns, strategy: 'blue-green', 'keep-previous': '2s' }, snap.onLine);
    expect(outcome.failure).toBeUndefined();
    expect(outcome.status).toBe('deployed');
    const steps = await Promise.all(snap.taken);
    expect(steps.map((s) => s.weight)).toEqual([0, 100]);
    expect(steps[0].selector).toEqual({ app: 'web', 'pod-template-hash': expect.any(String) }); // green up, traffic still on blue
    expect(steps[1].selector).toEqual({ app: 'web', 'kubeline.dev/track': 'green' }); // switched
    for (const s of steps) expect([s.green, s.stable, s.stableImage]).toEqual([4, 4, v1]);
    expect((await getService(ns, 'web')).spec.selector).toEqual({ app: 'web' });
    expect(await getDeployment(ns, 'web-green')).toBeUndefined();
    expect((await getDeployment(ns, 'web')).spec.template.spec.containers[0].image).toBe(v2);
  });

  test('switches back on a failing check after the switch', async () => {
    const ns = namespace('bluegreen-back');
    const v1 = image('web', '5');
    await firstRelease(ns, v1);
    const { outcome } = await run({
      manifests: bundle(image('web', '6')),
      release: 'web',
      namespace: ns,
      strategy: 'blue-green',
      'keep-previous': '10s',
      check: 'test "$KUBELINE_WEIGHT" != 100',
    });
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.failure).toMatch(/^step 2 of 2 \(100 %\) failed: check `test "\$KUBELINE_WEIGHT" != 100` exited with code 1/);
    expect((await getService(ns, 'web')).spec.selector).toEqual({ app: 'web' });
    expect(await getDeployment(ns, 'web-green')).toBeUndefined();
    const web = await getDeployment(ns, 'web');
    expect(web.spec.template.spec.containers[0].image).toBe(v1);
    expect(web.status.readyReplicas).toBe(4);
    expect(await records(ns)).toEqual({ '1': 'deployed', '2': 'rolled-back' });
  });
});

describe('manual gate: pause, resume and abort across runner processes', () => {
  const deployAction = (inputs: Record<string, string>, cancelWhen?: (line: string) => boolean) =>
    act('deploy', { kubeconfig, release: 'web', 'step-duration': '1s', 'check-interval': '1s', timeout: '60s', ...inputs }, { cancelWhen });

  test('paused at 25 % by one job, refused to a plain deploy, resumed by another job to 100 %', async () => {
    const ns = namespace('gate');
    const v1 = image('web', '7');
    const v2 = image('web', '8');
    await firstRelease(ns, v1);
    const paused = await deployAction({ manifests: bundle(v2), namespace: ns, strategy: 'canary', 'pause-at': '25' });
    expectNoStackTrace(paused);
    expect(paused.conclusion).toBe('success');
    expect(paused.outputs.status).toBe('paused');
    expect(paused.summary).toMatch(/paused at 25 %/);
    expect(paused.summary).toMatch(/resume: true/);
    expect((await getDeployment(ns, 'web-canary')).status.readyReplicas).toBe(1);
    expect((await getDeployment(ns, 'web')).spec.replicas).toBe(3);
    // The lock is released: another deploy can start, and is told about the paused rollout.
    const other = await deployAction({ manifests: bundle(image('web', '9')), namespace: ns });
    expect(other.conclusion).toBe('failure');
    expect(other.annotations.find((a) => a.level === 'error')?.message).toMatch(/has a canary rollout paused at 25 %: revision 2.*resume: true.*abort: true/);
    // A new process with nothing on disk but the cluster resumes it.
    const resumed = await deployAction({ namespace: ns, resume: 'true' });
    expectNoStackTrace(resumed);
    expect(resumed.conclusion).toBe('success');
    expect(resumed.outputs.status).toBe('deployed');
    expect(resumed.outputs.revision).toBe('2');
    expect(resumed.outputs.images).toBe(v2);
    expect((await getDeployment(ns, 'web')).spec.template.spec.containers[0].image).toBe(v2);
    expect(await getDeployment(ns, 'web-canary')).toBeUndefined();
    expect((await rolloutOf(ns, 2)).history.map((h: any) => [h.weight, h.result])).toEqual([
      [10, 'passed'],
      [25, 'paused'],
      [50, 'passed'],
      [100, 'passed'],
    ]);
  });

  test('a paused rollout someone scaled is not resumed; abort brings the stable version back', async () => {
    const ns = namespace('gate-changed');
    const v1 = image('web', 'a1'.slice(0, 1));
    await firstRelease(ns, v1);
    const paused = await deployAction({ manifests: bundle(image('web', 'b')), namespace: ns, strategy: 'canary', 'pause-at': '10' });
    expect(paused.outputs.status).toBe('paused');
    await client.mergePatch({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web-canary' }, { spec: { replicas: 3 } });
    const resumed = await deployAction({ namespace: ns, resume: 'true' });
    expect(resumed.conclusion).toBe('failure');
    expect(resumed.annotations.find((a) => a.level === 'error')?.message).toMatch(/cannot resume the rollout of revision 2: Deployment web-canary was changed .* abort: true/);
    const aborted = await deployAction({ namespace: ns, abort: 'true' });
    expectNoStackTrace(aborted);
    expect(aborted.conclusion).toBe('success');
    expect(aborted.outputs.status).toBe('aborted');
    expect(aborted.outputs.revision).toBe('1');
    const web = await getDeployment(ns, 'web');
    expect([web.spec.template.spec.containers[0].image, web.spec.replicas, web.status.readyReplicas]).toEqual([v1, 4, 4]);
    expect(await getDeployment(ns, 'web-canary')).toBeUndefined();
    expect(await records(ns)).toEqual({ '1': 'deployed', '2': 'rolled-back' });
    // Nothing is open any more.
    const again = await deployAction({ namespace: ns, resume: 'true' });
    expect(again.annotations.find((a) => a.level === 'error')?.message).toMatch(/has no paused rollout to resume \(its newest revision, 2, is rolled-back\)/);
  });

  test('a job cancelled mid-step: its post step aborts the rollout, and the record says so', async () => {
    const ns = namespace('gate-cancel');
    const v1 = image('web', 'c');
    await firstRelease(ns, v1);
    const cancelled = await deployAction({ manifests: bundle(image('web', 'd')), namespace: ns, strategy: 'canary', 'step-duration': '30s' }, (line) => /step 1 of 4 .*ready after/.test(line));
    expectNoStackTrace(cancelled);
    expect(cancelled.conclusion).not.toBe('success');
    expect(cancelled.log).toMatch(/aborting the rollout of revision 2/i);
    const web = await getDeployment(ns, 'web');
    expect([web.spec.template.spec.containers[0].image, web.spec.replicas]).toEqual([v1, 4]);
    expect(await getDeployment(ns, 'web-canary')).toBeUndefined();
    expect(await records(ns)).toEqual({ '1': 'deployed', '2': 'rolled-back' });
    expect(await client.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name: 'kubeline-web' })).toBeUndefined();
  });
});
