// The graph in package.json is the graph in the code: every package imports only what its
// package.json declares, declares nothing it does not import, reaches no other package's files by
// relative path (tests may share test/support), and the @kubeline/* graph has no cycle (kube never
// imports manifests).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const packagesDir = join(root, 'packages');

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? files(full) : /\.(ts|mts|js|mjs)$/.test(name) ? [full] : [];
  });

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2]);
}

/** `@scope/name/deep/path` → `@scope/name`; `name/deep` → `name`; undefined for relative and built-in modules. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0])) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const packages = readdirSync(packagesDir).filter((name) => statSync(join(packagesDir, name, 'package.json'), { throwIfNoEntry: false })?.isFile());
const manifests = new Map(packages.map((name) => [name, JSON.parse(readFileSync(join(packagesDir, name, 'package.json'), 'utf8')) as Manifest]));

describe.each(packages)('packages/%s', (name) => {
  const manifest = manifests.get(name)!;
  const dir = join(packagesDir, name);
  const srcFiles = files(join(dir, 'src'));
  const testFiles = statSync(join(dir, 'test'), { throwIfNoEntry: false }) ? files(join(dir, 'test')) : [];
  const used = (list: string[]) => new Set(list.flatMap(imports).map(packageOf).filter((p): p is string => !!p && p !== manifest.name));

  test('its source imports exactly the dependencies its package.json declares', () => {
    const declared = Object.keys(manifest.dependencies ?? {}).sort();
    expect([...used(srcFiles)].sort()).toEqual(declared);
  });

  test('its tests import only what it declares (dependencies or devDependencies)', () => {
    const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})]);
    const undeclared = [...used(testFiles)].filter((p) => !declared.has(p) && !p.startsWith('@jest/') && p !== 'jest');
    expect(undeclared).toEqual([]);
  });

  test('no file reaches into another package by relative path (tests may use test/support)', () => {
    const support = join(root, 'test', 'support');
    const escapes = [
      ...srcFiles.flatMap((file) => imports(file).map((s) => ({ file, s }))),
      ...testFiles.flatMap((file) => imports(file).map((s) => ({ file, s }))).filter(({ file, s }) => !resolve(file, '..', s).startsWith(support)),
    ]
      .filter(({ s }) => s.startsWith('.'))
      .filter(({ file, s }) => relative(dir, resolve(file, '..', s)).startsWith('..'))
      .map(({ file, s }) => `${relative(root, file)}: ${s}`);
    expect(escapes).toEqual([]);
  });
});

test('the @kubeline/* graph has no cycle, and kube does not depend on manifests', () => {
  const byName = new Map([...manifests.values()].map((m) => [m.name, Object.keys(m.dependencies ?? {}).filter((d) => d.startsWith('@kubeline/'))]));
  const visiting = new Set<string>();
  const done = new Set<string>();
  const cycles: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (done.has(name)) return;
    if (visiting.has(name)) return void cycles.push([...path, name].join(' → '));
    visiting.add(name);
    for (const dep of byName.get(name) ?? []) visit(dep, [...path, name]);
    visiting.delete(name);
    done.add(name);
  };
  for (const name of byName.keys()) visit(name, []);
  expect(cycles).toEqual([]);
  expect(byName.get('@kubeline/kube')).not.toContain('@kubeline/manifests');
});
