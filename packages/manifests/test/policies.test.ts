import { ConfigurationError } from '@kubeline/toolkit';
import { checkPolicies, DEFAULT_POLICY, isSuppressed, parsePolicyConfig, type PolicyConfig } from '../src/policies';
import { CHECK_NAMES, matchGlob } from '../src/policy-config';
import type { KubeObject } from '@kubeline/k8s';
import type { Finding, Manifest } from '../src/types';

const WS = '/home/runner/work/app/app';
const DIGEST = 'sha256:' + 'a1'.repeat(32);
const IMAGE = `ghcr.io/kubeline/demo@${DIGEST}`;

// Test objects are edited freely: loose typing keeps the tables short.
type Json = Record<string, any>;

const clone = <T>(value: T): T => structuredClone(value);

// examples/demo/deploy/base, as rendered, with the image set by digest.
function demoDeployment(): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'demo', labels: { 'app.kubernetes.io/name': 'demo' } },
    spec: {
      replicas: 1,
      revisionHistoryLimit: 5,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'demo' } },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'demo' } },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'demo',
              image: IMAGE,
              ports: [{ name: 'http', containerPort: 8080 }],
              env: [
                { name: 'PORT', value: '8080' },
                { name: 'APP_VERSION', value: 'dev' },
              ],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 5, periodSeconds: 10 },
              resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '64Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
}

function demoService(): Json {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'demo', labels: { 'app.kubernetes.io/name': 'demo' } },
    spec: { selector: { 'app.kubernetes.io/name': 'demo' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

// What the overlays and the chart do to the base: a namespace, more labels, more resources.
function overlay(object: Json, namespace: string, labels: Record<string, string>): Json {
  const out = clone(object);
  out.metadata.namespace = namespace;
  Object.assign(out.metadata.labels, labels);
  if (out.spec.template) Object.assign(out.spec.template.metadata.labels, labels);
  if (out.spec.selector?.matchLabels) Object.assign(out.spec.selector.matchLabels, labels);
  if (out.kind === 'Service') Object.assign(out.spec.selector, labels);
  return out;
}

function m(object: Json, file = `${WS}/deploy/base/${String(object.kind).toLowerCase()}.yaml`, source?: string): Manifest {
  return { object: object as KubeObject, origin: { file, document: 0, ...(source ? { source } : {}) } };
}

function run(objects: (Json | Manifest)[], config: PolicyConfig = DEFAULT_POLICY): Finding[] {
  return checkPolicies(
    objects.map((o) => ('origin' in o ? (o as Manifest) : m(o))),
    config,
    { workspace: WS },
  );
}

const rules = (findings: Finding[]): string[] => findings.map((f) => `${f.rule}:${f.severity}`);
const errors = (findings: Finding[]): Finding[] => findings.filter((f) => f.severity === 'error');

/** The demo Deployment with one change made by `edit`. */
function demoWith(edit: (d: Json, container: Json, pod: Json) => void): Json {
  const d = demoDeployment();
  edit(d, d.spec.template.spec.containers[0], d.spec.template.spec);
  return d;
}

const C = ['spec', 'template', 'spec', 'containers', 0];

describe('the example app passes the defaults', () => {
  test.each([
    ['base', [demoDeployment(), demoService()]],
    ['staging overlay', [overlay(demoDeployment(), 'demo-staging', { 'app.kubernetes.io/part-of': 'demo', environment: 'staging' }), overlay(demoService(), 'demo-staging', { 'app.kubernetes.io/part-of': 'demo', environment: 'staging' })]],
    [
      'production overlay',
      [
        (() => {
          const d = overlay(demoDeployment(), 'demo-production', { 'app.kubernetes.io/part-of': 'demo', environment: 'production' });
          d.spec.replicas = 3;
          d.spec.template.spec.containers[0].resources = { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } };
          return d;
        })(),
        overlay(demoService(), 'demo-production', { 'app.kubernetes.io/part-of': 'demo', environment: 'production' }),
      ],
    ],
    [
      'helm chart',
      (() => {
        const labels = { 'app.kubernetes.io/instance': 'demo' };
        const d = overlay(demoDeployment(), 'demo-staging', labels);
        d.spec.template.metadata.labels.environment = 'staging';
        d.spec.template.spec.containers[0].imagePullPolicy = 'IfNotPresent';
        const s = overlay(demoService(), 'demo-staging', labels);
        s.spec.type = 'ClusterIP';
        for (const o of [d, s]) Object.assign(o.metadata.labels, { 'app.kubernetes.io/version': 'latest', 'app.kubernetes.io/managed-by': 'Helm', 'helm.sh/chart': 'demo-0.1.0' });
        return [d, s];
      })(),
    ],
  ])('%s: no findings at all', (_name, objects) => {
    expect(run(objects)).toEqual([]);
  });

  test('the base as committed (demo:latest placeholder) fails only on the image', () => {
    const findings = run([demoWith((_d, c) => (c.image = 'demo:latest')), demoService()]);
    expect(findings).toEqual([
      expect.objectContaining({
        rule: 'policy/image-latest',
        severity: 'error',
        object: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'demo' },
        path: [...C, 'image'],
        message: expect.stringContaining('container "demo" image "demo:latest" uses the latest tag'),
      }),
    ]);
  });

  test('a typical well-written Deployment with a tagged image has warnings at most', () => {
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop', labels: { 'app.kubernetes.io/name': 'web' } },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'nginx:1.27.3',
                ports: [{ containerPort: 80 }],
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
                readinessProbe: { httpGet: { path: '/', port: 80 } },
                livenessProbe: { httpGet: { path: '/', port: 80 } },
              },
            ],
          },
        },
      },
    };
    const s = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop', labels: { 'app.kubernetes.io/name': 'web' } }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } };
    const findings = run([d, s]);
    expect(errors(findings)).toEqual([]);
    expect(rules(findings)).toEqual(['policy/image-digest:warning', 'policy/run-as-non-root:warning', 'policy/read-only-root-filesystem:warning']);
  });
});

describe('each check', () => {
  // [check, what is wrong, object, expected paths of that check's findings]
  const failing: [string, string, Json, (string | number)[][]][] = [
    ['image-latest', ':latest', demoWith((_d, c) => (c.image = 'nginx:latest')), [[...C, 'image']]],
    ['image-latest', 'untagged', demoWith((_d, c) => (c.image = 'registry.local:5000/team/nginx')), [[...C, 'image']]],
    ['image-latest', 'untagged init container', demoWith((_d, _c, p) => (p.initContainers = [{ name: 'init', image: 'busybox', resources: { limits: { cpu: '1', memory: '1Mi' } }, securityContext: { readOnlyRootFilesystem: true } }])), [['spec', 'template', 'spec', 'initContainers', 0, 'image']]],
    ['image-digest', 'a version tag', demoWith((_d, c) => (c.image = 'nginx:1.27')), [[...C, 'image']]],
    ['image-digest', 'a malformed digest', demoWith((_d, c) => (c.image = 'nginx@sha256:abc')), [[...C, 'image']]],
    ['resources', 'no resources', demoWith((_d, c) => delete c.resources), [C]],
    ['resources', 'no memory limit', demoWith((_d, c) => delete c.resources.limits), [[...C, 'resources']]],
    ['resources', 'no cpu request', demoWith((_d, c) => delete c.resources.requests.cpu), [[...C, 'resources', 'requests']]],
    ['probes', 'no readinessProbe', demoWith((_d, c) => delete c.readinessProbe), [C]],
    ['probes', 'no probes on a StatefulSet', demoWith((d, c) => ((d.kind = 'StatefulSet'), delete c.readinessProbe, delete c.livenessProbe)), [C]],
    ['run-as-non-root', 'no setting anywhere', demoWith((_d, _c, p) => delete p.securityContext), [[...C, 'securityContext']]],
    ['run-as-non-root', 'runAsUser: 0 in the container', demoWith((_d, c) => (c.securityContext.runAsUser = 0)), [[...C, 'securityContext', 'runAsUser']]],
    ['run-as-non-root', 'runAsNonRoot: false overrides the pod', demoWith((_d, c, p) => (delete p.securityContext.runAsUser, (c.securityContext.runAsNonRoot = false))), [[...C, 'securityContext', 'runAsNonRoot']]],
    ['privileged', 'privileged: true', demoWith((_d, c) => ((c.securityContext.privileged = true), delete c.securityContext.allowPrivilegeEscalation)), [[...C, 'securityContext', 'privileged']]],
    ['privileged', 'allowPrivilegeEscalation: true', demoWith((_d, c) => (c.securityContext.allowPrivilegeEscalation = true)), [[...C, 'securityContext', 'allowPrivilegeEscalation']]],
    ['host-path', 'a hostPath volume', demoWith((_d, _c, p) => p.volumes.push({ name: 'logs', hostPath: { path: '/var/log' } })), [['spec', 'template', 'spec', 'volumes', 1, 'hostPath']]],
    ['read-only-root-filesystem', 'not set', demoWith((_d, c) => delete c.securityContext.readOnlyRootFilesystem), [[...C, 'securityContext']]],
    ['read-only-root-filesystem', 'false', demoWith((_d, c) => (c.securityContext.readOnlyRootFilesystem = false)), [[...C, 'securityContext', 'readOnlyRootFilesystem']]],
    ['required-labels', 'no labels', demoWith((d) => delete d.metadata.labels), [['metadata']]],
    ['required-labels', 'other labels', demoWith((d) => (d.metadata.labels = { app: 'demo' })), [['metadata', 'labels']]],
  ];
  test.each(failing)('%s fails: %s', (check, _what, object, paths) => {
    const findings = run([object, demoService()]).filter((f) => f.rule === `policy/${check}`);
    expect(findings.map((f) => f.path)).toEqual(paths);
    for (const f of findings) {
      expect(f.severity).toBe(DEFAULT_POLICY.checks[check as keyof PolicyConfig['checks']]);
      expect(f.object).toEqual({ apiVersion: 'apps/v1', kind: object.kind, name: 'demo' });
      expect(f.fix).toMatch(/\.$/);
      expect(f.message).toMatch(/container "(demo|init)"|volume "logs"|label app\.kubernetes\.io\/name/);
    }
  });

  const passing: [string, string, Json][] = [
    ['image-latest', 'latest but pinned', demoWith((_d, c) => (c.image = `nginx:latest@${DIGEST}`))],
    ['image-digest', 'a registry with a port and a digest', demoWith((_d, c) => (c.image = `registry.local:5000/nginx@${DIGEST}`))],
    ['resources', 'limits stand in for requests', demoWith((_d, c) => (c.resources = { limits: { cpu: '1', memory: '1Gi' } }))],
    ['probes', 'a Job', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'demo', labels: { 'app.kubernetes.io/name': 'demo' } }, spec: { template: demoDeployment().spec.template } }],
    ['probes', 'a CronJob', { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'demo', labels: { 'app.kubernetes.io/name': 'demo' } }, spec: { schedule: '@daily', jobTemplate: { spec: { template: demoWith((_d, c) => delete c.readinessProbe).spec.template } } } }],
    ['probes', 'a Helm test hook Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'demo-test', labels: { 'app.kubernetes.io/name': 'demo' }, annotations: { 'helm.sh/hook': 'test' } }, spec: { containers: [{ name: 't', image: IMAGE }] } }],
    ['probes', 'a Pod that does not restart', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'once' }, spec: { restartPolicy: 'Never', containers: [{ name: 't', image: IMAGE }] } }],
    ['probes', 'init containers need none', demoWith((_d, _c, p) => (p.initContainers = [{ name: 'migrate', image: IMAGE }]))],
    ['run-as-non-root', 'runAsUser in the container only', demoWith((_d, c, p) => (delete p.securityContext, (c.securityContext.runAsUser = 1000)))],
    ['run-as-non-root', 'a Windows pod', demoWith((_d, _c, p) => (delete p.securityContext, (p.os = { name: 'windows' })))],
    ['privileged', 'privileged: false', demoWith((_d, c) => (c.securityContext.privileged = false))],
    ['host-path', 'emptyDir and configMap volumes', demoWith((_d, _c, p) => p.volumes.push({ name: 'cfg', configMap: { name: 'cfg' } }))],
    ['read-only-root-filesystem', 'true', demoDeployment()],
    ['required-labels', 'a ConfigMap with the label', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { 'app.kubernetes.io/name': 'demo' } }, data: {} }],
  ];
  test.each(passing)('%s passes: %s', (check, _what, object) => {
    expect(run([object]).filter((f) => f.rule === `policy/${check}`)).toEqual([]);
  });

  test('a privileged container is an error by default, with a message naming it', () => {
    const [finding] = run([demoWith((_d, c) => (c.securityContext.privileged = true))]).filter((f) => f.rule === 'policy/privileged');
    expect(finding).toMatchObject({ severity: 'error', message: expect.stringMatching(/^container "demo" is privileged/) });
  });

  test('image-digest stays quiet where image-latest speaks, and speaks when it is off', () => {
    const latest = demoWith((_d, c) => (c.image = 'nginx'));
    expect(rules(run([latest]))).toEqual(['policy/image-latest:error']);
    const config = { ...DEFAULT_POLICY, checks: { ...DEFAULT_POLICY.checks, 'image-latest': 'off' as const } };
    expect(rules(run([latest], config))).toEqual(['policy/image-digest:warning']);
  });

  test('images in custom resources are checked too', () => {
    const rollout = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'demo', labels: { 'app.kubernetes.io/name': 'demo' } }, spec: { template: demoWith((_d, c) => (c.image = 'demo:latest')).spec.template } };
    expect(run([rollout])).toEqual([expect.objectContaining({ rule: 'policy/image-latest', path: [...C, 'image'], object: expect.objectContaining({ kind: 'Rollout' }) })]);
  });

  describe('service-selects-workload', () => {
    const ns = (o: Json, namespace: string): Json => ((o.metadata.namespace = namespace), o);
    test.each([
      ['selects the Deployment', [demoDeployment(), demoService()], []],
      ['selects nothing', [demoDeployment(), ((s) => ((s.spec.selector = { 'app.kubernetes.io/name': 'dmeo' }), s))(demoService())], ['selector app.kubernetes.io/name=dmeo matches no pod template in the bundle without a namespace']],
      [
        'the workload is in another namespace',
        [ns(demoDeployment(), 'a'), ns(demoService(), 'b')],
        ['selector app.kubernetes.io/name=demo matches no pod template in namespace b (Deployment a/demo matches, in namespace a)'],
      ],
      ['every selector label must match', [demoDeployment(), ((s) => ((s.spec.selector.tier = 'web'), s))(demoService())], ['selector app.kubernetes.io/name=demo,tier=web matches no pod template in the bundle without a namespace']],
      ['ExternalName is skipped', [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', labels: { 'app.kubernetes.io/name': 'x' } }, spec: { type: 'ExternalName', externalName: 'db.example.com', selector: { a: 'b' } } }], []],
      ['no selector is skipped', [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', labels: { 'app.kubernetes.io/name': 'x' } }, spec: { ports: [{ port: 80 }] } }], []],
      ['a bare Pod counts as a workload', [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { 'app.kubernetes.io/name': 'demo' } }, spec: { containers: [{ name: 'p', image: IMAGE }] } }, demoService()], []],
    ])('%s', (_name, objects, messages) => {
      const findings = run(objects as Json[]).filter((f) => f.rule === 'policy/service-selects-workload');
      expect(findings.map((f) => f.message)).toEqual(messages);
      for (const f of findings) expect(f).toMatchObject({ severity: 'warning', path: ['spec', 'selector'], object: expect.objectContaining({ kind: 'Service' }) });
    });
  });

  test('a check set to off does not run', () => {
    const bad = demoWith((_d, c) => ((c.image = 'nginx'), (c.securityContext.privileged = true)));
    const off = Object.fromEntries(CHECK_NAMES.map((n) => [n, 'off'])) as PolicyConfig['checks'];
    expect(run([bad, {}], { ...DEFAULT_POLICY, checks: off })).toEqual([]);
  });

  test('severities come from the config', () => {
    const config = parsePolicyConfig('checks:\n  image-digest: error\n  probes: info\n', 'policy.yml');
    const findings = run([demoWith((_d, c) => ((c.image = 'nginx:1.27'), delete c.livenessProbe))], config);
    expect(rules(findings)).toEqual(['policy/image-digest:error', 'policy/probes:info']);
  });

  test('required labels and required resources come from the config', () => {
    const config = parsePolicyConfig('checks:\n  required-labels: { labels: [app.kubernetes.io/name, app.kubernetes.io/part-of] }\n  resources: { require: [limits.cpu] }\n', 'policy.yml');
    const findings = run([demoDeployment()], config);
    expect(findings.map((f) => [f.rule, f.message])).toEqual([
      ['policy/resources', 'container "demo" sets no cpu limit'],
      ['policy/required-labels', 'label app.kubernetes.io/part-of missing'],
    ]);
  });
});

describe('parsePolicyConfig', () => {
  test('an empty file is the default policy', () => {
    expect(parsePolicyConfig('', 'policy.yml')).toEqual(DEFAULT_POLICY);
    expect(parsePolicyConfig('# nothing yet\n', 'policy.yml')).toEqual(DEFAULT_POLICY);
  });

  test('a full file', () => {
    const config = parsePolicyConfig(
      `checks:
  image-digest: error
  host-path: off
  read-only-root-filesystem: false
  required-labels: { severity: info, labels: [app.kubernetes.io/name, team] }
  resources:
    require: [requests.memory, limits.memory]
ignore:
  - files: ["charts/vendor/**"]
    checks: ["*"]
    reason: third-party chart
  - objects: Deployment/kube-system/*
    checks: probes
    reason: '  probed by the operator  '
`,
      'policy.yml',
    );
    expect(config.checks).toMatchObject({ 'image-digest': 'error', 'host-path': 'off', 'read-only-root-filesystem': 'off', 'required-labels': 'info', privileged: 'error', probes: 'warning' });
    expect(config.requiredLabels).toEqual(['app.kubernetes.io/name', 'team']);
    expect(config.requiredResources).toEqual(['requests.memory', 'limits.memory']);
    expect(config.ignore).toEqual([
      { files: ['charts/vendor/**'], checks: ['*'], reason: 'third-party chart', source: 'policy.yml:9' },
      { objects: ['Deployment/kube-system/*'], checks: ['probes'], reason: 'probed by the operator', source: 'policy.yml:12' },
    ]);
  });

  test.each([
    ['checks:\n  image-digst: error\n', `policy.yml:2: checks.image-digst: unknown check 'image-digst'; valid checks: ${CHECK_NAMES.join(', ')}`],
    ['checks:\n  probes: warn\n', 'policy.yml:2: checks.probes: unknown severity "warn"; valid: error, warning, info, off'],
    ['checks:\n  probes: { severity: fatal }\n', 'policy.yml:2: checks.probes.severity: unknown severity "fatal"; valid: error, warning, info, off'],
    ['checks:\n  probes: { labels: [a] }\n', "policy.yml:2: checks.probes.labels: unknown setting of probes 'labels'; valid: severity"],
    ['checks:\n  required-labels:\n    labels: ["app.kubernetes.io/name:"]\n', "policy.yml:3: checks.required-labels.labels[0]: 'app.kubernetes.io/name:' is not a label key"],
    ['checks:\n  required-labels: { labels: [] }\n', 'policy.yml:2: checks.required-labels.labels: expected a non-empty list of strings'],
    ['checks:\n  resources: { require: [limits.gpu] }\n', "policy.yml:2: checks.resources.require[0]: unknown resource setting 'limits.gpu'; valid: requests.cpu, requests.memory, limits.cpu, limits.memory"],
    ['checks: [probes]\n', 'policy.yml:1: checks: expected a mapping of check names to severities (error | warning | info | off)'],
    ['check:\n  probes: off\n', "policy.yml:1: check: unknown key 'check'; valid: checks, ignore"],
    ['- checks\n', 'policy.yml:1: expected a mapping with the keys checks, ignore'],
    ['ignore:\n  - files: [a/**]\n    checks: ["*"]\n', "policy.yml:2: ignore[0]: every ignore entry needs a 'reason': say why the checks do not apply"],
    ['ignore:\n  - files: [a/**]\n    checks: ["*"]\n    reason: ""\n', "policy.yml:4: ignore[0].reason: every ignore entry needs a 'reason'"],
    ['ignore:\n  - files: [a/**]\n    reason: vendored\n', "policy.yml:2: ignore[0]: an ignore entry needs 'checks': a list of check names or [\"*\"]"],
    ['ignore:\n  - files: [a/**]\n    checks: [probe]\n    reason: vendored\n', "policy.yml:3: ignore[0].checks[0]: unknown check 'probe'; valid checks: *, image-latest"],
    ['ignore:\n  - checks: [probes]\n    reason: vendored\n', "policy.yml:2: ignore[0]: an ignore entry needs 'files' or 'objects'"],
    ['ignore:\n  - objects: [demo]\n    checks: [probes]\n    reason: vendored\n', "policy.yml:2: ignore[0].objects[0]: 'demo' is not Kind/namespace/name or Kind/name"],
    ['ignore:\n  - file: [a/**]\n    checks: [probes]\n    reason: vendored\n', "policy.yml:2: ignore[0].file: unknown key of an ignore entry 'file'; valid: files, objects, checks, reason"],
    ['ignore: { files: [a] }\n', 'policy.yml:1: ignore: expected a list of entries'],
    ['checks:\n  probes: off\n  probes: error\n', 'policy.yml:3:3: not valid YAML: Map keys must be unique'],
    ['checks:\n  probes: [off\n', 'policy.yml:3:1: not valid YAML:'],
  ])('%j is refused', (text, message) => {
    let thrown: unknown;
    try {
      parsePolicyConfig(text, 'policy.yml');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as Error).message).toContain(message);
  });
});

describe('matchGlob', () => {
  test.each([
    ['charts/vendor/**', 'charts/vendor/redis/templates/deployment.yaml', true],
    ['charts/vendor/**', 'charts/vendored/x.yaml', false],
    ['charts/vendor/**', './charts/vendor/x.yaml', true],
    ['charts/*/templates/*.yaml', 'charts/redis/templates/sts.yaml', true],
    ['charts/*/templates/*.yaml', 'charts/redis/templates/sub/sts.yaml', false],
    ['**/charts/**', 'deploy/app/charts/redis/templates/sts.yaml', true],
    ['**/charts/**', 'charts/redis/x.yaml', true],
    ['deploy/**/crds/*.yaml', 'deploy/crds/a.yaml', true],
    ['deploy/**/crds/*.yaml', 'deploy/a/b/crds/a.yaml', true],
    ['file?.yaml', 'file1.yaml', true],
    ['file?.yaml', 'file10.yaml', false],
    ['a.b', 'axb', false],
    ['Deployment/kube-system/*', 'Deployment/kube-system/coredns', true],
    ['Deployment/*/*', 'Deployment//cluster-wide', true],
    ['*/kube-*/*', 'DaemonSet/kube-system/proxy', true],
    ['deploy\\charts\\**', 'deploy/charts/a.yaml', true],
  ])('%s ~ %s → %s', (glob, path, expected) => {
    expect(matchGlob(glob, path)).toBe(expected);
  });
});

describe('ignores in the config', () => {
  const vendored = demoWith((_d, c) => ((c.image = 'redis'), delete c.livenessProbe));
  const config = parsePolicyConfig(
    `ignore:
  - files: ["deploy/chart/charts/redis/**"]
    checks: ["*"]
    reason: third-party chart
  - objects: ["Deployment/kube-system/*", "StatefulSet/cache"]
    checks: [probes]
    reason: probed by its operator
`,
    'policy.yml',
  );

  test('a files glob matches the source file, workspace-relative', () => {
    const findings = run([m(vendored, `${WS}/rendered/helm.yaml`, `${WS}/deploy/chart/charts/redis/templates/deployment.yaml`)], config);
    expect(findings.map((f) => [f.rule, f.severity, f.message])).toEqual([
      ['policy/image-latest', 'info', 'suppressed: third-party chart (ignored in policy.yml:2): container "demo" image "redis" has no tag, so it pulls latest: what runs changes without a change to the manifest'],
      ['policy/probes', 'info', 'suppressed: third-party chart (ignored in policy.yml:2): container "demo" has no livenessProbe'],
    ]);
    expect(findings.every(isSuppressed)).toBe(true);
  });

  test('without a source, the file itself is matched', () => {
    expect(errors(run([m(vendored, `${WS}/deploy/chart/charts/redis/all.yaml`)], config))).toEqual([]);
  });

  test('another file is not ignored', () => {
    expect(rules(run([m(vendored, `${WS}/deploy/chart/templates/deployment.yaml`)], config))).toEqual(['policy/image-latest:error', 'policy/probes:warning']);
  });

  test('an objects glob matches Kind/namespace/name, or Kind/name in any namespace, for the checks named', () => {
    const system = ((d: Json) => ((d.metadata.namespace = 'kube-system'), d))(clone(vendored));
    expect(rules(run([system], config))).toEqual(['policy/image-latest:error', 'policy/probes:info']);
    const cache = ((d: Json) => ((d.kind = 'StatefulSet'), (d.metadata.name = 'cache'), (d.metadata.namespace = 'any'), d))(clone(vendored));
    expect(rules(run([cache], config))).toEqual(['policy/image-latest:error', 'policy/probes:info']);
    const other = ((d: Json) => ((d.metadata.namespace = 'default'), d))(clone(vendored));
    expect(rules(run([other], config))).toEqual(['policy/image-latest:error', 'policy/probes:warning']);
  });

  test('files and objects in one entry must both match', () => {
    const both = parsePolicyConfig('ignore:\n  - files: ["vendor/**"]\n    objects: ["Deployment/*"]\n    checks: ["*"]\n    reason: vendored\n', 'p.yml');
    expect(rules(run([m(vendored, `${WS}/vendor/a.yaml`)], both)).every((r) => r.endsWith(':info'))).toBe(true);
    expect(rules(run([m({ ...clone(vendored), kind: 'StatefulSet' }, `${WS}/vendor/a.yaml`)], both))).toContain('policy/image-latest:error');
  });
});

describe('suppression by annotation', () => {
  const annotate = (d: Json, where: 'object' | 'template', annotations: Record<string, string>): Json => {
    const meta = where === 'object' ? d.metadata : d.spec.template.metadata;
    meta.annotations = annotations;
    return d;
  };
  const noProbes = (): Json => demoWith((_d, c) => delete c.readinessProbe);

  test.each(['object', 'template'] as const)('on the %s metadata, with a reason, it suppresses that check', (where) => {
    const findings = run([annotate(noProbes(), where, { 'ignore.kubeline.dev/probes': 'a queue worker: no port to probe' })]);
    expect(findings).toEqual([
      expect.objectContaining({
        rule: 'policy/probes',
        severity: 'info',
        message: 'suppressed: a queue worker: no port to probe (annotation ignore.kubeline.dev/probes): container "demo" has no readinessProbe',
        path: C,
      }),
    ]);
    expect(isSuppressed(findings[0]!)).toBe(true);
  });

  test('only the check it names', () => {
    const d = annotate(demoWith((_d, c) => ((c.image = 'nginx'), delete c.readinessProbe)), 'object', { 'ignore.kubeline.dev/probes': 'worker' });
    expect(rules(run([d]))).toEqual(['policy/image-latest:error', 'policy/probes:info']);
  });

  test('ignore.kubeline.dev/all suppresses every check', () => {
    const d = annotate(demoWith((_d, c) => ((c.image = 'nginx'), delete c.readinessProbe)), 'object', { 'ignore.kubeline.dev/all': 'legacy, tracked in #12' });
    expect(rules(run([d]))).toEqual(['policy/image-latest:info', 'policy/probes:info']);
  });

  test('an empty reason suppresses nothing and is a warning', () => {
    const findings = run([annotate(noProbes(), 'object', { 'ignore.kubeline.dev/probes': ' ' })]);
    expect(findings).toEqual([
      expect.objectContaining({ rule: 'policy/suppression-without-reason', severity: 'warning', path: ['metadata', 'annotations', 'ignore.kubeline.dev/probes'] }),
      expect.objectContaining({ rule: 'policy/probes', severity: 'warning' }),
    ]);
    expect(isSuppressed(findings[1]!)).toBe(false);
  });

  test('an unknown check name is a warning', () => {
    const findings = run([annotate(noProbes(), 'template', { 'ignore.kubeline.dev/probe': 'worker' })]);
    expect(findings.map((f) => [f.rule, f.severity, f.path])).toEqual([
      ['policy/suppression-unknown-check', 'warning', ['spec', 'template', 'metadata', 'annotations', 'ignore.kubeline.dev/probe']],
      ['policy/probes', 'warning', C],
    ]);
  });

  test('other annotations are left alone', () => {
    expect(run([annotate(demoDeployment(), 'object', { 'ignore-check.kube-linter.io/probes': '' })])).toEqual([]);
  });
});
