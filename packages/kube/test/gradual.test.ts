import { parseSteps, planTargets, readGradualSettings, replicaSplit, routeAt, trackDeployment, TRACK_LABEL } from '@kubeline/kube';
import type { KubeObject } from '@kubeline/k8s';
import { ConfigurationError, Inputs, objectInputs } from '@kubeline/toolkit';

const deployment = (name: string, image: string, replicas = 4, labels: Record<string, string> = { app: name }): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: { replicas, selector: { matchLabels: { app: labels.app } }, template: { metadata: { labels }, spec: { containers: [{ name, image }] } } },
});
const service = (name: string, selector: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector, ports: [{ port: 80 }] } });
const route = (name: string, backends: Array<{ name: string; weight?: number }>): KubeObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name },
  spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: backends.map((b) => ({ ...b, port: 80 })) }] },
});
const noLive: { hpas: KubeObject[]; deployments: KubeObject[] } = { hpas: [], deployments: [] };
const plan = (bundle: KubeObject[], previous: KubeObject[], strategy: 'canary' | 'blue-green' = 'canary', traffic: 'auto' | 'replicas' | 'httproute' | 'ingress-nginx' = 'auto', live = noLive) =>
  planTargets(bundle, previous, { namespace: 'prod', strategy, traffic, live });
const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return (err as Error).message;
  }
  throw new Error('no error');
};

describe('gradual-delivery inputs', () => {
  test.each([
    ['10,25,50,100', [10, 25, 50, 100]],
    ['5\n50\n100', [5, 50, 100]],
    ['100', [100]],
    ['20%, 100%', [20, 100]],
  ])('steps %j', (text, steps) => expect(parseSteps(text)).toEqual(steps));

  test.each([
    ['25,10,100', /must increase \(25 is followed by 10\)/],
    ['10,25,50', /last step must be 100/],
    ['10,10,100', /must increase/],
    ['0,100', /"0" is not a percentage/],
    ['ten,100', /"ten" is not a percentage/],
  ])('steps %j are refused', (text, why) => expect(message(() => parseSteps(text))).toMatch(why));

  const settings = (values: Record<string, string>) => readGradualSettings(new Inputs(objectInputs(values)));
  test('defaults: rolling, 10/25/50/100, 1m steps, checks every 10s', () => {
    expect(settings({})).toMatchObject({ strategy: 'rolling', steps: [10, 25, 50, 100], stepDurationMs: 60_000, checkIntervalMs: 10_000, traffic: 'auto', resume: false, abort: false });
  });
  test('pause-at must be a step the rollout reaches, before 100', () => {
    expect(settings({ strategy: 'canary', 'pause-at': '25' }).pauseAt).toBe(25);
    expect(message(() => settings({ strategy: 'canary', 'pause-at': '30' }))).toMatch(/"30" is not one of the steps before 100 \(10, 25, 50\)/);
    expect(message(() => settings({ strategy: 'canary', 'pause-at': '100' }))).toMatch(/not one of the steps before 100/);
    expect(message(() => settings({ 'pause-at': '25' }))).toMatch(/needs strategy canary or blue-green/);
    expect(message(() => settings({ strategy: 'blue-green', 'pause-at': '50' }))).toMatch(/blue-green pauses only at 0/);
  });
  test('resume and abort together are refused', () => {
    expect(message(() => settings({ resume: 'true', abort: 'true' }))).toMatch(/conflicts with abort/);
  });
  test('a bad strategy lists the valid ones', () => {
    expect(message(() => settings({ strategy: 'linear' }))).toMatch(/rolling.*canary.*blue-green/);
  });
});

describe('replica split: the canary share of pods is the weight, at least one pod, the total kept', () => {
  test.each([
    [10, 10, 1, 9],
    [10, 25, 3, 7],
    [4, 10, 1, 3],
    [4, 50, 2, 2],
    [4, 90, 3, 1],
    [3, 25, 1, 2],
    [2, 75, 1, 1],
  ])('%i replicas at %i %% → %i canary + %i stable', (total, weight, canary, stable) => {
    expect(replicaSplit(total, weight)).toMatchObject({ canary, stable });
    expect(replicaSplit(total, weight).canary + replicaSplit(total, weight).stable).toBe(total);
  });
  test('one replica: 1 beside 1, a real share of 50 %', () => expect(replicaSplit(1, 10)).toEqual({ canary: 1, stable: 1, share: 50 }));
});

describe('planTargets', () => {
  const v1 = [deployment('web', 'web:1'), service('web', { app: 'web' })];
  const v2 = [deployment('web', 'web:2'), service('web', { app: 'web' })];

  test('only Deployments whose pod template changes roll out gradually, with their Services', () => {
    const { targets, traffic } = plan([...v2, deployment('worker', 'w:1')], [...v1, deployment('worker', 'w:1')]);
    expect(targets.map((t) => t.name)).toEqual(['web']);
    expect(targets[0].services.map((s) => (s.metadata as { name: string }).name)).toEqual(['web']);
    expect(traffic).toBe('replicas');
  });
  test('a new Deployment has no stable version: not a target', () => {
    expect(plan(v2, [service('web', { app: 'web' })]).targets).toEqual([]);
  });
  test('an HPA owning the replicas is refused under traffic by replicas, with the way out', () => {
    const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: 'prod' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } } };
    expect(message(() => plan(v2, v1, 'canary', 'replicas', { hpas: [hpa], deployments: [] }))).toMatch(/scaled by HorizontalPodAutoscaler web.*Use traffic: httproute/);
  });
  test('a Service whose selector the new pods do not carry is refused', () => {
    const next = [deployment('web', 'web:2', 4, { app: 'web', version: 'v2' }), service('web', { app: 'web', version: 'v1' })];
    const prev = [deployment('web', 'web:1', 4, { app: 'web', version: 'v1' }), service('web', { app: 'web', version: 'v1' })];
    expect(message(() => plan(next, prev))).toMatch(/Service web selects app=web,version=v1, which the new pods of Deployment web .* do not carry/);
  });
  test('two Deployments behind one Service are refused', () => {
    const other = deployment('web-eu', 'web:1', 2, { app: 'web', region: 'eu' });
    expect(message(() => plan([...v2, other], [...v1, other]))).toMatch(/Service web selects the pods of Deployment web and of Deployment web-eu/);
  });
  test('replicas: 1 gets a warning with the real share', () => {
    const { warnings } = plan([deployment('web', 'web:2', 1), service('web', { app: 'web' })], [deployment('web', 'web:1', 1), service('web', { app: 'web' })]);
    expect(warnings.join()).toMatch(/replicas: 1.*real share is 50 %/);
  });
  test('blue-green needs a Service to switch', () => {
    expect(message(() => plan([deployment('web', 'web:2')], [deployment('web', 'web:1')], 'blue-green'))).toMatch(/no Service of the bundle selects its pods/);
  });
  test('traffic auto picks the HTTPRoute in front of the Service', () => {
    const r = route('web', [{ name: 'web' }]);
    expect(plan([...v2, r], [...v1, r]).traffic).toBe('httproute');
    expect(message(() => plan(v2, v1, 'canary', 'httproute'))).toMatch(/no HTTPRoute of the bundle sends traffic to Service web/);
  });
  test('traffic auto picks an nginx Ingress in front of the Service when there is no route; another class is not one', () => {
    const ingress = (className: string): KubeObject => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'web' },
      spec: { ingressClassName: className, rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
    });
    expect(plan([...v2, ingress('nginx')], [...v1, ingress('nginx')]).traffic).toBe('ingress-nginx');
    expect(plan([...v2, ingress('traefik')], [...v1, ingress('traefik')]).traffic).toBe('replicas');
    expect(message(() => plan([...v2, ingress('traefik')], v1, 'canary', 'ingress-nginx'))).toMatch(/no Ingress of class nginx in the bundle has Service web as a backend/);
  });
});

describe('the objects a rollout writes', () => {
  test('a canary Deployment carries the track label in its selector and pods, never the stable selector alone', () => {
    const [t] = plan([deployment('web', 'web:2'), service('web', { app: 'web' })], [deployment('web', 'web:1'), service('web', { app: 'web' })]).targets;
    const c = trackDeployment(t, 'canary', 2) as any;
    expect(c.metadata.name).toBe('web-canary');
    expect(c.spec.replicas).toBe(2);
    expect(c.spec.selector.matchLabels).toEqual({ app: 'web', [TRACK_LABEL]: 'canary' });
    expect(c.spec.template.metadata.labels).toEqual({ app: 'web', [TRACK_LABEL]: 'canary' });
    expect(c.spec.template.spec.containers[0].image).toBe('web:2');
  });
  test('route weights: the stable backend keeps 100−w, the canary Service gets w, other backends untouched', () => {
    const r = routeAt(route('web', [{ name: 'web' }, { name: 'docs', weight: 3 }]), ['web'], 25) as any;
    expect(r.spec.rules[0].backendRefs).toEqual([
      { name: 'web', port: 80, weight: 75 },
      { name: 'web-canary', port: 80, weight: 25 },
      { name: 'docs', port: 80, weight: 3 },
    ]);
    expect((routeAt(route('web', [{ name: 'web', weight: 2 }]), ['web'], 100) as any).spec.rules[0].backendRefs.map((b: any) => b.weight)).toEqual([0, 200]);
  });
});
