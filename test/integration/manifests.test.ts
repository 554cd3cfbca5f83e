// render-and-validate-manifests through the local runner, as a workflow runs it: the example app
// rendered three ways with the digest push-image really pushed, seeded mistakes of every kind
// reported at the right file and line, and bad input refused clearly.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJUnit } from '@kubeline/testrun';
import type { RunResult } from '@kubeline/runner';
import { act, demoDir, expectNoStackTrace, testbed, uniqueName } from '../support/actions';

const bed = testbed();
const deployDir = join(demoDir, 'deploy');

/** A throwaway workspace holding the given files (path → text). */
function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-manifests-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

// Outputs go to a folder that outlives the run (the runner removes RUNNER_TEMP afterwards).
const render = (inputs: Record<string, string>, ws?: string) =>
  act('render-and-validate-manifests', { 'output-dir': mkdtempSync(join(tmpdir(), 'kubeline-out-')), ...inputs }, ws ? { workspace: ws } : {});

/** The annotation for a rule (its title starts with the rule id). */
function annotation(r: RunResult, rule: string, file?: string) {
  return r.annotations.find((a) => a.title?.startsWith(`${rule}:`) || a.title === rule ? (file ? a.file === file : true) : false);
}

function bundleOf(r: RunResult): string {
  return readFileSync(r.outputs.manifests, 'utf8');
}

describe('the example app, with the digest push-image pushed', () => {
  let image = '';
  let digest = '';

  beforeAll(async () => {
    const repo = uniqueName('demo');
    const pushed = await act('push-image', { context: demoDir, images: `${bed.registry}/${repo}`, tags: 'type=raw,value=ci', username: bed.user, password: bed.password });
    expect(pushed.conclusion).toBe('success');
    digest = pushed.outputs.digest;
    image = `${bed.registry}/${repo}@${digest}`;
  });

  const cases: Array<[string, (env: string) => Record<string, string>]> = [
    ['kustomize', (env) => ({ path: 'examples/demo/deploy', environment: env })],
    ['helm', (env) => ({ path: 'examples/demo/deploy/chart/demo', environment: env, release: 'demo', namespace: `demo-${env}` })],
    ['plain', (env) => ({ path: 'examples/demo/deploy/base', renderer: 'plain', environment: env, namespace: `demo-${env}` })],
  ];

  for (const [renderer, inputs] of cases) {
    for (const env of ['staging', 'production']) {
      test(`${renderer}, ${env}: renders, injects the digest, passes strict validation`, async () => {
        const r = await render({ ...inputs(env), images: `demo=${image}`, 'fail-on': 'warning' });
        expectNoStackTrace(r);
        expect(r.conclusion).toBe('success');
        expect(r.outputs.errors).toBe('0');
        expect(r.outputs.warnings).toBe('0');
        expect(r.outputs.images).toBe(image);
        const objects = JSON.parse(r.outputs.objects) as Array<{ kind: string; namespace?: string; name: string }>;
        expect(objects.map((o) => o.kind).sort()).toEqual(['Deployment', 'Service']);
        for (const o of objects) expect(o.namespace).toBe(`demo-${env}`);
        const bundle = bundleOf(r);
        expect(bundle).toContain(`image: ${image}`);
        expect(bundle).not.toContain('demo:latest');
        expect(bundle).toContain(`kubeline.dev/environment: ${env}`);
        // Service before Deployment: the apply order.
        expect(bundle.indexOf('kind: Service')).toBeLessThan(bundle.indexOf('kind: Deployment'));
        expect(r.summary).toContain(digest);
      });
    }
  }

  test('production gets its own replicas and values file', async () => {
    const r = await render({ path: 'examples/demo/deploy/chart/demo', environment: 'production', images: `demo=${image}` });
    expect(bundleOf(r)).toMatch(/replicas: 3/);
    expect(r.log).toContain('values-production.yaml');
  });

  test('a listed image that matches nothing fails the step (typo guard) and names the images present', async () => {
    const r = await render({ path: 'examples/demo/deploy', environment: 'staging', images: `dmeo=${image}` });
    expect(r.conclusion).toBe('failure');
    const a = annotation(r, 'images/unmatched');
    expect(a?.message).toContain('"dmeo" matches no container image');
    expect(a?.message).toContain('demo');
  });
});

// Each mistake sits on a known line; the finding must point at that file and line.
const APP = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels:
    app.kubernetes.io/name: shop
spec:
  replica: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: shop
  template:
    metadata:
      labels:
        app.kubernetes.io/name: shop
    spec:
      containers:
        - name: shop
          image: ghcr.io/acme/shop:latest
          ports:
            - containerPort: "8080"
          resources:
            requests:
              memory: 64MB
          securityContext:
            privileged: true
        - image: ghcr.io/acme/sidecar@sha256:${'b'.repeat(64)}
`;

const FILES: Record<string, string> = {
  'deploy/app.yaml': APP,
  'deploy/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a: b\ndata: {}\n',
  'deploy/dupe.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dupe\n  labels:\n    app.kubernetes.io/name: dupe\ndata:\n  a: "1"\n  a: "2"\n',
  'deploy/old.yaml': 'apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: old\n  labels:\n    app.kubernetes.io/name: old\nspec: {}\n',
  'deploy/crd.yaml': `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.acme.io
  labels:
    app.kubernetes.io/name: widgets
spec:
  group: acme.io
  scope: Namespaced
  names: { kind: Widget, plural: widgets, singular: widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: { type: integer, minimum: 1 }
                color: { type: string, enum: [red, blue] }
`,
  'deploy/widget.yaml': `apiVersion: acme.io/v1
kind: Widget
metadata:
  name: w1
  labels:
    app.kubernetes.io/name: w1
spec:
  size: "big"
  colour: red
`,
  'deploy/unknown.yaml': 'apiVersion: acme.io/v9\nkind: Gadget\nmetadata:\n  name: g\n  labels:\n    app.kubernetes.io/name: g\n',
  'deploy/service.yaml': `apiVersion: v1
kind: Service
metadata:
  name: lonely
  labels:
    app.kubernetes.io/name: lonely
  annotations:
    ignore.kubeline.dev/required-labels: ""
spec:
  selector:
    app: nobody
  ports:
    - port: 80
`,
};

describe('seeded mistakes', () => {
  let r: RunResult;
  let ws = '';
  beforeAll(async () => {
    ws = workspace(FILES);
    r = await render({ path: 'deploy', 'kubernetes-version': '1.36' }, ws);
    if (process.env.KUBELINE_TEST_LOG) for (const a of r.annotations) console.log(a.level, a.title, a.file, a.line, a.message);
  });

  test('the step fails, with no stack trace, and counts errors and warnings', () => {
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(Number(r.outputs.errors)).toBeGreaterThanOrEqual(10);
    expect(Number(r.outputs.warnings)).toBeGreaterThanOrEqual(1);
  });

  test.each([
    ['schema/unknown-field', 'deploy/app.yaml', 8, 'unknown field "replica"', 'Did you mean "replicas"'],
    ['schema/wrong-type', 'deploy/app.yaml', 21, 'expected an integer', 'Remove the quotes'],
    ['k8s/invalid-quantity', 'deploy/app.yaml', 24, '"64MB" is not a quantity', 'Mi not MB'],
    ['schema/missing-field', 'deploy/app.yaml', 27, 'required field "name" is missing', 'Add `name`'],
    ['policy/image-latest', 'deploy/app.yaml', 19, 'latest', ''],
    ['policy/privileged', 'deploy/app.yaml', 26, 'privileged', ''],
    ['yaml/syntax', 'deploy/broken.yaml', 4, 'invalid YAML at line 4', ''],
    ['yaml/syntax', 'deploy/dupe.yaml', 9, 'duplicated mapping key', 'duplicate key'],
    ['api/removed', 'deploy/old.yaml', 1, 'removed in Kubernetes 1.22', 'networking.k8s.io/v1'],
    ['schema/wrong-type', 'deploy/widget.yaml', 8, 'expected an integer', ''],
    ['schema/unknown-field', 'deploy/widget.yaml', 9, 'unknown field "colour"', 'Did you mean "color"'],
    ['schema/unknown-kind', 'deploy/unknown.yaml', 2, 'no schema for acme.io/v9 Gadget', 'crds'],
    ['policy/service-selects-workload', 'deploy/service.yaml', 10, 'app=nobody', ''],
  ])('%s in %s is annotated at line %i', (rule, file, line, message, fix) => {
    const found = r.annotations.filter((a) => (a.title?.startsWith(`${rule}:`) || a.title === rule) && a.file === file && a.line === line);
    expect(found.map((a) => `${a.title} ${a.file}:${a.line}`)).not.toEqual([]);
    expect(found.some((a) => a.message.includes(message) && a.message.includes(fix))).toBe(true);
  });

  test('an empty suppression reason does not suppress, and says so', () => {
    expect(annotation(r, 'policy/suppression-without-reason')).toBeDefined();
  });

  test('the SARIF report is SARIF 2.1.0 with a file location on every result', () => {
    const sarif = JSON.parse(readFileSync(r.outputs.sarif, 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    const results = sarif.runs[0].results as Array<{ level: string; locations?: Array<{ physicalLocation?: { artifactLocation?: { uri?: string }; region?: { startLine?: number } } }> }>;
    expect(results.filter((x) => x.level === 'error').length).toBe(Number(r.outputs.errors));
    for (const result of results) expect(result.locations?.[0]?.physicalLocation?.artifactLocation?.uri).toBeTruthy();
    const unknownField = results.find((x) => JSON.stringify(x).includes('replica"'));
    expect(unknownField?.locations?.[0]?.physicalLocation?.artifactLocation?.uri).toBe('deploy/app.yaml');
    expect(unknownField?.locations?.[0]?.physicalLocation?.region?.startLine).toBe(8);
  });

  test('the JUnit report fails the objects with errors and passes the others', () => {
    const report = parseJUnit(readFileSync(r.outputs.junit, 'utf8'));
    const failed = report.cases.filter((c) => c.status === 'failed').map((c) => c.name);
    expect(failed).toEqual(expect.arrayContaining(['Deployment shop', 'Ingress old', 'Widget w1', 'Gadget g']));
    expect(report.cases.find((c) => c.name === 'Service lonely')?.status).toBe('passed');
  });

  test('crds: a CRD file outside the bundle validates custom resources', async () => {
    const only = workspace({ 'crds/widget.yaml': FILES['deploy/crd.yaml'], 'deploy/widget.yaml': FILES['deploy/widget.yaml'] });
    const withCrd = await render({ path: 'deploy', crds: 'crds' }, only);
    expect(annotation(withCrd, 'schema/unknown-field')?.message).toContain('colour');
    const without = await render({ path: 'deploy', 'unknown-kinds': 'warning' }, only);
    expect(without.outputs.errors).toBe('0');
    expect(annotation(without, 'schema/unknown-kind')?.level).toBe('warning');
  });
});

describe('findings in rendered sources point at the source file', () => {
  test('kustomize: a typo in the base is reported in the base file, through the overlay', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'kubeline-kustomize-'));
    cpSync(deployDir, join(ws, 'deploy'), { recursive: true });
    const base = join(ws, 'deploy', 'base', 'deployment.yaml');
    const text = readFileSync(base, 'utf8').replace('  revisionHistoryLimit: 5', '  revisionHistoryLimt: 5');
    writeFileSync(base, text);
    const line = text.split('\n').findIndex((l) => l.includes('revisionHistoryLimt')) + 1;
    const r = await render({ path: 'deploy', environment: 'production' }, ws);
    expect(r.conclusion).toBe('failure');
    const a = annotation(r, 'schema/unknown-field');
    expect(a).toMatchObject({ file: 'deploy/base/deployment.yaml', line });
    // The origin annotation kustomize adds for us never reaches the bundle.
    expect(bundleOf(r)).not.toContain('config.kubernetes.io/origin');
  });

  test('helm: a typo in a template is reported in the template file', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'kubeline-helm-'));
    cpSync(join(deployDir, 'chart'), join(ws, 'chart'), { recursive: true });
    const template = join(ws, 'chart', 'demo', 'templates', 'deployment.yaml');
    const text = readFileSync(template, 'utf8').replace('      automountServiceAccountToken: false', '      automountServiceAcountToken: false');
    writeFileSync(template, text);
    const line = text.split('\n').findIndex((l) => l.includes('automountServiceAcountToken')) + 1;
    const r = await render({ path: 'chart/demo', environment: 'staging' }, ws);
    expect(annotation(r, 'schema/unknown-field')).toMatchObject({ file: 'chart/demo/templates/deployment.yaml', line });
  });

  test('a chart that fails to render fails with helm\'s own message', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'kubeline-helm-'));
    cpSync(join(deployDir, 'chart'), join(ws, 'chart'), { recursive: true });
    writeFileSync(join(ws, 'chart', 'demo', 'templates', 'broken.yaml'), 'kind: {{ .Values.nope.deeper }}\n');
    const r = await render({ path: 'chart/demo' }, ws);
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(r.log).toMatch(/helm template failed[\s\S]*nil pointer evaluating interface \{\}\.deeper/);
  });
});

describe('a big bundle', () => {
  test('is parsed on several threads with the same findings and lines as on one', async () => {
    const files: Record<string, string> = {};
    const configMap = (f: number, i: number) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${f}-${i}\n  labels:\n    app.kubernetes.io/name: cm-${f}-${i}\ndata:\n  settings: "${'x'.repeat(120)}"\n`;
    for (let f = 0; f < 60; f++) files[`big/part-${String(f).padStart(2, '0')}.yaml`] = Array.from({ length: 200 }, (_, i) => configMap(f, i)).join('---\n');
    // One typo, in a file a worker parses: line 7 of its 101st document.
    const docs = files['big/part-59.yaml'].split('---\n');
    docs[100] = docs[100].replace('\ndata:', '\ndta:');
    files['big/part-59.yaml'] = docs.join('---\n');
    const line = files['big/part-59.yaml'].split('\n').indexOf('dta:') + 1;
    const r = await render({ path: 'big' }, workspace(files));
    expect(r.outputs.errors).toBe('1');
    expect(JSON.parse(r.outputs.objects)).toHaveLength(12000);
    expect(annotation(r, 'schema/unknown-field')).toMatchObject({ file: 'big/part-59.yaml', line });
  });
});

describe('bad input', () => {
  test.each([
    ['a path outside the workspace', { path: '../../etc' }, /input 'path': "..\/..\/etc" is outside the workspace/],
    ['a path that does not exist', { path: 'nope' }, /input 'path': "nope" does not exist/],
    ['an unknown renderer', { path: 'deploy', renderer: 'jsonnet' }, /input 'renderer'.*auto, plain, kustomize, helm/],
    ['a Kubernetes version with no schemas', { path: 'deploy', 'kubernetes-version': '1.20' }, /kubernetes-version: "1.20" has no bundled schemas\. Bundled: 1\.37, 1\.36, 1\.35, 1\.34/],
    ['a malformed image line', { path: 'deploy', images: 'demo=Demo:Latest!' }, /input 'images': line "demo=Demo:Latest!"/],
    ['a label that is not one', { path: 'deploy', labels: 'team=platform ops' }, /input 'labels': "team=platform ops": the value must be empty or alphanumeric/],
    ['an environment with no overlay', { path: 'deploy', renderer: 'kustomize', environment: 'qa' }, /no kustomize overlay for "qa"/],
  ])('%s is refused with the input named', async (_name, inputs, message) => {
    const ws = workspace({ 'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n' });
    const r = await render(inputs as Record<string, string>, ws);
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(r.log).toMatch(message);
  });

  test('a binary file, an empty bundle, an alias bomb and a huge file are findings, not crashes', async () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    const ws = workspace({ 'deploy/image.yaml': 'apiVersion: v1\n\0\0\x01binary', 'deploy/bomb.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\nbombs:\n  ${bomb.split('\n').join('\n  ')}\n`, 'deploy/huge.yaml': '' });
    truncateSync(join(ws, 'deploy', 'huge.yaml'), 65 * 1024 * 1024); // sparse: no disk, no memory
    const started = Date.now();
    const r = await render({ path: 'deploy' }, ws);
    expectNoStackTrace(r);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(annotation(r, 'input/binary')?.file).toBe('deploy/image.yaml');
    expect(annotation(r, 'input/too-large')?.message).toContain('over the 64 MiB limit');
    expect(r.annotations.some((a) => a.file === 'deploy/bomb.yaml' && a.level === 'error')).toBe(true);

    const empty = await render({ path: 'deploy' }, workspace({ 'deploy/nothing.yaml': '# only a comment\n---\n' }));
    expect(empty.conclusion).toBe('failure');
    expect(annotation(empty, 'input/empty')?.message).toContain('rendered no Kubernetes objects');
  });
});
