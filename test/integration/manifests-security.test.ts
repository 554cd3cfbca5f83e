// render-and-validate-manifests against a hostile checkout: kustomize, Helm and plain folders must
// not read files outside the workspace into the bundle, and the outputs must not be written
// through symlinks in the checkout (issue 13, findings 1, 2 and 4).
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { RunResult } from '@kubeline/runner';
import { act, expectNoStackTrace, firstError } from '../support/actions';

const SECRET = `TOP-SECRET-${process.pid}-${Date.now()}`;

/** A folder outside every workspace, holding a secret the bundle must never get. */
function outside(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'kubeline-outside-')));
  writeFileSync(join(dir, 'secret.txt'), `${SECRET}\n`);
  writeFileSync(join(dir, 'values.yaml'), `secret: ${SECRET}\n`);
  mkdirSync(join(dir, 'base'));
  writeFileSync(join(dir, 'base', 'kustomization.yaml'), 'resources: [cm.yaml]\n');
  writeFileSync(join(dir, 'base', 'cm.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stolen\ndata:\n  x: ${SECRET}\n`);
  return dir;
}

function workspace(files: Record<string, string>, links: Record<string, string> = {}): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'kubeline-ws-')));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    symlinkSync(target, join(dir, path));
  }
  return dir;
}

const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: b\n';
const CHART = 'apiVersion: v2\nname: app\nversion: 0.1.0\n';

const render = (ws: string, inputs: Record<string, string>) =>
  act('render-and-validate-manifests', { 'output-dir': mkdtempSync(join(tmpdir(), 'kubeline-out-')), ...inputs }, { workspace: ws });

/** Refused clearly: failed, no stack trace, the secret nowhere, no bundle holding it. */
function expectRefused(r: RunResult, mentions: RegExp): void {
  expectNoStackTrace(r);
  expect(r.conclusion).toBe('failure');
  expect(r.log).not.toContain(SECRET);
  expect(r.summary ?? '').not.toContain(SECRET);
  if (r.outputs.manifests) expect(readFileSync(r.outputs.manifests, 'utf8')).not.toContain(SECRET);
  expect(`${firstError(r)}\n${r.log}`).toMatch(mentions);
}

describe('kustomize stays inside the workspace', () => {
  test('a configMapGenerator file outside the workspace is refused', async () => {
    const out = outside();
    const ws = workspace({ 'k/kustomization.yaml': `resources: [cm.yaml]\nconfigMapGenerator:\n  - name: stolen\n    files: [${join(out, 'secret.txt')}]\n`, 'k/cm.yaml': CM });
    expectRefused(await render(ws, { path: 'k' }), /secret\.txt[\s\S]*Move the file into that folder/);
  });

  test('a configMapGenerator file symlinked out of the workspace is refused', async () => {
    const out = outside();
    const ws = workspace({ 'k/kustomization.yaml': 'resources: [cm.yaml]\nconfigMapGenerator:\n  - name: stolen\n    files: [x.txt]\n', 'k/cm.yaml': CM }, { 'k/x.txt': join(out, 'secret.txt') });
    expectRefused(await render(ws, { path: 'k' }), /x\.txt[\s\S]*Move the file into that folder/);
  });

  test('a base outside the workspace is refused, naming the kustomization and the fix', async () => {
    const out = outside();
    const ws = workspace({ 'k/kustomization.yaml': 'resources: [cm.yaml, PLACEHOLDER]\n', 'k/cm.yaml': CM });
    writeFileSync(join(ws, 'k/kustomization.yaml'), `resources:\n  - cm.yaml\n  - ${relative(join(ws, 'k'), join(out, 'base'))}\n`);
    const r = await render(ws, { path: 'k' });
    expectRefused(r, /k\/kustomization\.yaml[\s\S]*outside the workspace/);
    expect(firstError(r)).toMatch(/inside the repository/);
  });

  test('a base symlinked out of the workspace is refused', async () => {
    const out = outside();
    const ws = workspace({ 'k/kustomization.yaml': 'resources: [cm.yaml, ../base]\n', 'k/cm.yaml': CM }, { base: join(out, 'base') });
    expectRefused(await render(ws, { path: 'k' }), /outside the workspace/);
  });

  test.each([
    'https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0',
    'github.com/acme/platform//base?ref=main',
    'git@github.com:acme/platform.git//base',
  ])('a remote base (%s) is refused before kustomize tries the network: the render is offline', async (remote) => {
    const ws = workspace({ 'k/kustomization.yaml': `resources:\n  - cm.yaml\n  - ${remote}\n`, 'k/cm.yaml': CM });
    const started = Date.now();
    const r = await render(ws, { path: 'k' });
    expectRefused(r, /is remote; the render is offline[\s\S]*Vendor it/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  test('a base inside the workspace still renders, its findings traced to the base file and line', async () => {
    const ws = workspace({ 'base/kustomization.yaml': 'resources: [cm.yaml]\n', 'base/cm.yaml': `${CM}dataa:\n  c: d\n`, 'overlay/kustomization.yaml': 'resources: [../base]\n' });
    const r = await render(ws, { path: 'overlay' });
    expectNoStackTrace(r);
    expect(readFileSync(r.outputs.manifests, 'utf8')).toContain('name: app');
    const unknown = r.annotations.find((a) => a.title?.startsWith('schema/unknown-field'));
    expect(unknown).toMatchObject({ file: 'base/cm.yaml', line: 7 });
  });
});

describe('Helm and plain folders refuse symlinks out of the workspace', () => {
  test('a chart file symlinked outside, read by .Files.Get, is refused', async () => {
    const out = outside();
    const ws = workspace(
      { 'chart/Chart.yaml': CHART, 'chart/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  x: {{ .Files.Get "files/x" | quote }}\n' },
      { 'chart/files/x': join(out, 'secret.txt') },
    );
    expectRefused(await render(ws, { path: 'chart', release: 'app' }), /chart\/files\/x[\s\S]*outside the workspace/);
  });

  test('a values-<environment>.yaml symlinked outside the workspace is refused', async () => {
    const out = outside();
    const ws = workspace(
      { 'chart/Chart.yaml': CHART, 'chart/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  x: {{ .Values.secret | quote }}\n' },
      { 'chart/values-production.yaml': join(out, 'values.yaml') },
    );
    expectRefused(await render(ws, { path: 'chart', release: 'app', environment: 'production' }), /values-production\.yaml[\s\S]*outside the workspace/);
  });

  test('a link inside the workspace still renders, with helm\'s warning about it shown', async () => {
    const ws = workspace(
      { 'chart/Chart.yaml': CHART, 'chart/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  x: {{ .Files.Get "files/x" | quote }}\n', 'shared/x': 'shared-value\n' },
      { 'chart/files': '../shared' },
    );
    const r = await render(ws, { path: 'chart', release: 'app' });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
    expect(readFileSync(r.outputs.manifests, 'utf8')).toContain('shared-value');
    expect(r.log).toMatch(/helm template: .*symbolic link/);
  });

  test('a plain environment folder symlinked outside the workspace is refused', async () => {
    const out = outside();
    const ws = workspace({ 'manifests/cm.yaml': CM }, { 'manifests/production': join(out, 'base') });
    expectRefused(await render(ws, { path: 'manifests', renderer: 'plain', environment: 'production' }), /manifests\/production[\s\S]*outside the workspace/);
  });
});

describe('outputs are never written through symlinks', () => {
  for (const name of ['manifests.yaml', 'results.sarif', 'junit.xml']) {
    test(`an output-dir whose ${name} is a symlink out of the checkout leaves the target alone`, async () => {
      const out = outside();
      const victim = join(out, 'victim.txt');
      writeFileSync(victim, 'untouched\n');
      const ws = workspace({ 'manifests/cm.yaml': CM }, { [`out/${name}`]: victim });
      const r = await act('render-and-validate-manifests', { path: 'manifests', 'output-dir': 'out' }, { workspace: ws });
      expectNoStackTrace(r);
      expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
      expect(r.conclusion).toBe('success');
      expect(lstatSync(join(ws, 'out', name)).isSymbolicLink()).toBe(false);
    });
  }

  test('an output-dir symlinked out of the checkout is refused', async () => {
    const out = outside();
    const ws = workspace({ 'manifests/cm.yaml': CM }, { out });
    const r = await act('render-and-validate-manifests', { path: 'manifests', 'output-dir': 'out/x' }, { workspace: ws });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(firstError(r)).toMatch(/output-dir[\s\S]*outside the workspace/);
    expect(() => lstatSync(join(out, 'x'))).toThrow();
  });
});
