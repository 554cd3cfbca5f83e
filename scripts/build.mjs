#!/usr/bin/env node
// Bundles every action (and the local runner) with ncc into dist/<name>/index.js.
// `--check` rebuilds into a temporary folder and fails when dist/ differs:
// dist/ is committed because the runner executes it straight from the repo.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));

const entries = readdirSync(join(root, 'actions'))
  .filter((name) => existsSync(join(root, 'actions', name, 'src', 'main.ts')))
  .map((name) => ({ name, entry: join('actions', name, 'src', 'main.ts') }));
entries.push({ name: 'cli', entry: join('packages', 'runner', 'src', 'cli.ts') });

// Data files a bundle reads at run time, copied next to its index.js.
const assets = {
  'render-and-validate-manifests': ['packages/manifests/schemas/kubernetes.json.br'],
  promote: ['packages/manifests/schemas/kubernetes.json.br'],
};

const out = check ? mkdtempSync(join(tmpdir(), 'kubeline-dist-')) : join(root, 'dist');
const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
for (const { name, entry } of entries) {
  if (only.length && !only.includes(name)) continue;
  const target = join(out, name);
  const fresh = `${target}.building`;
  rmSync(fresh, { recursive: true, force: true });
  // --minify keeps bundles small and start-up fast; ncc emits ESM because the
  // sources are ESM ("type": "module"), which @actions/* v3 require.
  execFileSync(process.execPath, [ncc, 'build', entry, '-o', fresh, '--minify', '--no-source-map-register', '--quiet', '--license', 'licenses.txt'], {
    cwd: root,
    stdio: 'inherit',
  });
  for (const asset of assets[name] ?? []) copyFileSync(join(root, asset), join(fresh, basename(asset)));
  // Swap in whole: dist/<name> is never missing or half-written while a build runs.
  rmSync(target, { recursive: true, force: true });
  renameSync(fresh, target);
}
// The bundles are ESM; this marker makes Node treat them so wherever dist/ is copied.
writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module' }, null, 2) + '\n');

// The action READMEs' input tables come from action.yml.
execFileSync(process.execPath, [join(root, 'scripts', 'docs.mjs'), ...(check ? ['--check'] : [])], { stdio: 'inherit' });

if (check) {
  const stale = [];
  for (const { name } of entries) {
    if (only.length && !only.includes(name)) continue;
    for (const file of ['index.js', ...(assets[name] ?? []).map((a) => basename(a))]) {
      const fresh = readFileSync(join(out, name, file));
      const committed = existsSync(join(root, 'dist', name, file)) ? readFileSync(join(root, 'dist', name, file)) : Buffer.alloc(0);
      if (!fresh.equals(committed)) stale.push(`dist/${name}/${file}`);
    }
  }
  rmSync(out, { recursive: true, force: true });
  if (stale.length) {
    console.error(`dist/ is stale: ${stale.join(', ')}.\nRun \`npm run build\` and commit dist/.`);
    process.exit(1);
  }
  console.log('dist/ matches the sources.');
}
