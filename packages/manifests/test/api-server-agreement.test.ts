// Validation that agrees with the API server (issue 14), rule by rule: oneOf/anyOf branches as
// structural schemas use them, typed lists, the checks the API server makes in code, its field
// warnings, CEL rules left to the server, and policies that walk only real pod specs. The whole
// corpus against the real API server is test/integration/published-corpus.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '@kubeline/k8s';
import { apiServerRules } from '../src/api-server-rules';
import { CustomResources } from '../src/crds';
import { checkPolicies, DEFAULT_POLICY } from '../src/policies';
import { type PipelineSettings, renderAndValidate } from '../src/pipeline';
import { KubernetesSchemas } from '../src/schemas';
import { CommandLineTools } from '../src/tools';
import type { Finding } from '../src/types';
import { validateObject } from '../src/validate';

type Json = Record<string, any>;
const schemas = new KubernetesSchemas('1.37');

function validate(object: Json, crds: Json[] = []): Finding[] {
  const custom = new CustomResources(schemas);
  for (const crd of crds) custom.add(crd as KubeObject);
  return validateObject(object as KubeObject, { schemas, crds: custom, unknownKinds: 'error', deprecatedApis: 'warning', olderSchemas: [] });
}
const errors = (findings: Finding[]) => findings.filter((f) => f.severity === 'error');
const warnings = (findings: Finding[]) => findings.filter((f) => f.severity === 'warning');

function crd(kind: string, spec: Json): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${kind.toLowerCase()}s.example.com` },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { kind, plural: `${kind.toLowerCase()}s` },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec } } } }],
    },
  };
}
const cr = (kind: string, spec: Json): Json => ({ apiVersion: 'example.com/v1', kind, metadata: { name: 'x', namespace: 'ns' }, spec });

describe('oneOf / anyOf in CRD schemas: branches say which keys are present, they do not close the object', () => {
  // Kyverno's context entries: exactly one of configMap, apiCall, … besides name.
  const context = crd('Policy', {
    type: 'object',
    properties: {
      context: {
        type: 'array',
        items: {
          type: 'object',
          properties: { name: { type: 'string' }, configMap: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, variable: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          oneOf: [{ required: ['configMap'] }, { required: ['variable'] }],
        },
      },
    },
  });

  test.each([
    ['one form', [{ name: 'a', configMap: { name: 'c' } }], []],
    ['the other form', [{ name: 'a', variable: { value: 1 } }], []],
  ])('%s is accepted, with its other fields', (_name, entries, expected) => {
    expect(errors(validate(cr('Policy', { context: entries }), [context])).map((f) => f.message)).toEqual(expected);
  });

  test('no form, or two, is rejected with the forms named by what they require', () => {
    const none = errors(validate(cr('Policy', { context: [{ name: 'a' }] }), [context]));
    expect(none.map((f) => f.message)).toEqual(['spec.context[0]: matches none of the allowed forms (exactly one must hold): "configMap" set; "variable" set']);
    const both = errors(validate(cr('Policy', { context: [{ name: 'a', configMap: {}, variable: {} }] }), [context]));
    expect(both.map((f) => f.message)).toEqual(['spec.context[0]: matches more than one of the allowed forms (exactly one must hold): "configMap" set; "variable" set']);
  });

  test('an unknown field is still one, by the skeleton (not the branches)', () => {
    expect(errors(validate(cr('Policy', { context: [{ name: 'a', configMap: {}, extra: 1 }] }), [context])).map((f) => f.rule)).toEqual(['schema/unknown-field']);
  });

  // Gateway API addresses: a value of type IPAddress must be an IP; `type` defaults to IPAddress.
  const gateway = crd('Gateway', {
    type: 'object',
    properties: {
      addresses: {
        type: 'array',
        items: {
          type: 'object',
          required: ['value'],
          properties: { type: { type: 'string', default: 'IPAddress' }, value: { type: 'string' } },
          oneOf: [{ properties: { type: { enum: ['IPAddress'] } } }, { properties: { type: { not: { enum: ['IPAddress'] } } } }],
        },
      },
    },
  });

  test('defaults apply before a branch is chosen: an address without type is an IPAddress, and only that', () => {
    expect(errors(validate(cr('Gateway', { addresses: [{ value: '10.0.0.1' }, { type: 'Hostname', value: 'a.example.com' }] }), [gateway]))).toEqual([]);
  });

  test('a required field with a default is not missing', () => {
    const withDefault = crd('Thing', { type: 'object', required: ['mode'], properties: { mode: { type: 'string', default: 'auto' } } });
    expect(errors(validate(cr('Thing', {}), [withDefault]))).toEqual([]);
  });
});

describe("the API server's checks in code", () => {
  const pod = (spec: Json, kind = 'Pod'): Json =>
    kind === 'Pod'
      ? { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec }
      : { apiVersion: 'apps/v1', kind, metadata: { name: 'w', namespace: 'ns' }, spec: { selector: { matchLabels: { a: 'b' } }, serviceName: 's', template: { metadata: { labels: { a: 'b' } }, spec }, ...(kind === 'StatefulSet' ? { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {} }] } : {}) } };
  const container = (extra: Json): Json => ({ name: 'c', image: 'x:1', ...extra });

  test.each([
    ['a volumeMount naming no volume', pod({ containers: [container({ volumeMounts: [{ name: 'ca-certs', mountPath: '/c' }] })] }), 'k8s/volume-mount-not-found', 'spec.containers[0].volumeMounts[0].name'],
    ['protocol in lower case', pod({ containers: [container({ ports: [{ containerPort: 80, protocol: 'tcp' }] })] }), 'k8s/invalid-protocol', 'spec.containers[0].ports[0].protocol'],
    ['a Service port protocol in lower case', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, protocol: 'udp' }] } }, 'k8s/invalid-protocol', 'spec.ports[0].protocol'],
    ['a ReplicationController with no selector and no template labels', { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { template: { spec: { containers: [container({})] } } } }, 'k8s/missing-selector', 'spec'],
    ['a ClusterRoleBinding ServiceAccount subject without namespace', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'b' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'ServiceAccount', name: 'sa' }] }, 'k8s/subject-namespace', 'subjects[0]'],
    ['a Windows HostProcess container without hostNetwork', pod({ containers: [container({ securityContext: { windowsOptions: { hostProcess: true } } })] }), 'k8s/host-process-network', 'spec.hostNetwork'],
  ])('%s is an error at its field', (_name, object, rule, field) => {
    const found = errors(validate(object)).filter((f) => f.rule === rule);
    expect(found).toHaveLength(1);
    expect(found[0].message.startsWith(`${field}: `)).toBe(true);
    expect(found[0].fix).toBeTruthy();
  });

  test.each([
    ['a mount of a volume the pod has', pod({ volumes: [{ name: 'v', emptyDir: {} }], containers: [container({ volumeMounts: [{ name: 'v', mountPath: '/v' }] })] })],
    ["a StatefulSet's mount of its volumeClaimTemplate", pod({ containers: [container({ volumeMounts: [{ name: 'data', mountPath: '/d' }] })] }, 'StatefulSet')],
    ['a ReplicationController without selector whose template has labels (the server takes them)', { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { template: { metadata: { labels: { a: 'b' } }, spec: { containers: [container({})] } } } }],
    ['a RoleBinding ServiceAccount subject without namespace (the binding gives it)', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'b', namespace: 'ns' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' }, subjects: [{ kind: 'ServiceAccount', name: 'sa' }] }],
  ])('%s is fine', (_name, object) => {
    expect(errors(validate(object))).toEqual([]);
  });

  test('a custom resource that embeds a pod spec is checked by its schema alone, as the API server does', () => {
    const embed = crd('Runner', { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    expect(errors(validate(cr('Runner', { template: { spec: { containers: [container({ volumeMounts: [{ name: 'nope', mountPath: '/n' }] })] } } }), [embed]))).toEqual([]);
  });
});

describe("the API server's field warnings", () => {
  test.each([
    ['a glusterfs volume', { volumes: [{ name: 'g', glusterfs: { endpoints: 'e', path: 'p' } }], containers: [{ name: 'c', image: 'x:1' }] }, 'k8s/deprecated-volume', 'spec.volumes[0].glusterfs: volume "g" uses the glusterfs plugin: deprecated in v1.25, non-functional in v1.26+'],
    ['a cephfs volume', { volumes: [{ name: 'f', cephfs: { monitors: ['m'] } }], containers: [{ name: 'c', image: 'x:1' }] }, 'k8s/deprecated-volume', 'spec.volumes[0].cephfs: volume "f" uses the cephfs plugin: deprecated in v1.28, non-functional in v1.31+'],
    ['the same port twice', { containers: [{ name: 'a', image: 'x:1', ports: [{ containerPort: 80 }] }, { name: 'b', image: 'x:1', ports: [{ containerPort: 80, protocol: 'TCP' }] }] }, 'k8s/duplicate-port', 'spec.containers[1].ports[0]: port 80 is defined twice (also at spec.containers[0].ports[0])'],
  ])('%s is a warning', (_name, spec, rule, message) => {
    const found = warnings(validate({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec })).filter((f) => f.rule === rule);
    expect(found.map((f) => f.message)).toEqual([message]);
  });

  test('the same port number for TCP and UDP is no warning', () => {
    const spec = { containers: [{ name: 'a', image: 'x:1', ports: [{ containerPort: 53 }, { containerPort: 53, protocol: 'UDP' }] }] };
    expect(warnings(validate({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec }))).toEqual([]);
  });
});

describe('the pipeline: typed lists, CEL rules left to the API server', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubeline-agreement-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(yaml: string): Promise<{ objects: string[]; findings: Finding[] }> {
    writeFileSync(join(dir, 'all.yaml'), yaml);
    const settings: PipelineSettings = {
      render: { path: dir, renderer: 'plain', environment: '', releaseName: 'r', namespace: '', valuesFiles: [], set: [], setString: [], kubernetesVersion: '1.37' },
      workspace: dir,
      images: [],
      labels: [],
      annotations: [],
      namespace: '',
      crdFiles: [],
      unknownKinds: 'error',
      deprecatedApis: 'warning',
      policy: { ...DEFAULT_POLICY, checks: Object.fromEntries(Object.keys(DEFAULT_POLICY.checks).map((c) => [c, 'off'])) as PipelineSettings['policy']['checks'] },
      bundleFile: join(dir, 'out.yaml'),
    };
    const result = await renderAndValidate(settings, new CommandLineTools());
    return { objects: result.objects.map((o) => `${o.kind}/${o.name}`), findings: result.findings };
  }

  test('a RoleBindingList is opened like a List: each item is an object, validated', async () => {
    const { objects, findings } = await run(`apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBindingList
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata: {name: a, namespace: one}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
  subjects: [{kind: ServiceAccount, name: s, namespace: monitoring}]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata: {name: b, namespace: two}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role}
`);
    expect(objects.sort()).toEqual(['RoleBinding/a', 'RoleBinding/b']);
    expect(errors(findings).map((f) => `${f.object?.name} ${f.rule} ${f.location?.line}`)).toEqual(['b schema/missing-field 12']);
  });

  test('CEL rules of the CRDs are counted in one note, not evaluated', async () => {
    const withRules = crd('Widget', { type: 'object', properties: { size: { type: 'integer' } }, 'x-kubernetes-validations': [{ rule: 'self.size > 0' }, { rule: 'self.size < 10' }] });
    const { findings } = await run(`${JSON.stringify(withRules)}\n---\n${JSON.stringify(cr('Widget', { size: 3 }))}\n`);
    expect(findings.filter((f) => f.rule === 'crd/cel-not-evaluated').map((f) => [f.severity, f.message])).toEqual([
      ['info', '2 CEL rules (x-kubernetes-validations) in the CRD schemas of 1 custom resource were not evaluated: the API server evaluates them when the objects are applied'],
    ]);
  });
});

describe('policies walk only real pod specs', () => {
  const m = (object: Json) => ({ object: object as KubeObject, origin: { file: '/w/a.yaml', document: 0 } });
  const images = (objects: Json[], embedsPodSpec?: (o: KubeObject, p: readonly (string | number)[]) => boolean | undefined) =>
    checkPolicies(objects.map(m), DEFAULT_POLICY, { embedsPodSpec }).filter((f) => f.rule === 'policy/image-latest').map((f) => `${f.object?.kind}`);

  test('a Kyverno pattern that looks like a pod spec is not one', () => {
    const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules: [{ validate: { pattern: { spec: { containers: [{ name: '*', image: 'eu.foo.io/* | bar.io/*' }] } } } }] } };
    expect(images([policy])).toEqual([]);
    // With Kyverno's CRD known, its schema (preserve-unknown-fields) says so too.
    expect(images([policy], () => false)).toEqual([]);
  });

  test("a custom resource's pod template is one: by its CRD's schema, or as `….template.spec` without a CRD", () => {
    const rollout = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'r' }, spec: { template: { spec: { containers: [{ name: 'c', image: 'demo' }] } } } };
    expect(images([rollout])).toEqual(['Rollout']);
    expect(images([rollout], () => true)).toEqual(['Rollout']);
    expect(images([rollout], () => false)).toEqual([]);
  });

  test("CustomResources.embedsPodSpec reads the CRD's schema", () => {
    const custom = new CustomResources(schemas);
    const container = { type: 'object', properties: { name: { type: 'string' }, image: { type: 'string' } } };
    custom.add(crd('Runner', { type: 'object', properties: { template: { type: 'object', properties: { spec: { type: 'object', properties: { containers: { type: 'array', items: container } } } } }, pattern: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }) as KubeObject);
    const object = cr('Runner', {}) as KubeObject;
    expect(custom.embedsPodSpec(object, ['spec', 'template', 'spec'])).toBe(true);
    expect(custom.embedsPodSpec(object, ['spec', 'pattern', 'spec'])).toBe(false);
    expect(custom.embedsPodSpec({ ...object, kind: 'Other' }, ['spec'])).toBeUndefined();
  });
});

describe('ConfigMap and Secret size', () => {
  test('over 1 MiB of data is an error, as the API server refuses it', () => {
    const big = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { 'blob.txt': 'x'.repeat(1024 * 1024) } };
    expect(apiServerRules(big).map((f) => f.rule)).toEqual(['k8s/data-too-large']);
    expect(apiServerRules(big)[0].message).toMatch(/1048584 bytes, over the API server's limit of 1048576 bytes/);
  });
  test('a Secret is counted decoded: 900 kB of data in base64 (1.2 MB of text) is fine', () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { key: Buffer.alloc(900_000).toString('base64') } };
    expect(apiServerRules(secret)).toEqual([]);
  });
});
