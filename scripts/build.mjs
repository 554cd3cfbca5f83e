#!/usr/bin/env node
// Bundles every action (and the local runner) with esbuild into dist/<name>/: index.js, the chunks
// it loads lazily, licenses.txt (scripts/bundle.mjs says how and why).
// `--check` rebuilds into a temporary folder and fails when dist/ differs:
// dist/ is committed because the runner executes it straight from the repo.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { bundleAction } from './bundle.mjs';

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
for (const { name, entry } of entries) {
  if (only.length && !only.includes(name)) continue;
  const target = join(out, name);
  const fresh = `${target}.building`;
  rmSync(fresh, { recursive: true, force: true });
  await bundleAction({ root, entry, outdir: fresh });
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
    // Every file: index.js, its chunks, the assets; a chunk left over from an older build is stale too.
    const committedDir = join(root, 'dist', name);
    const files = new Set([...readdirSync(join(out, name)), ...(existsSync(committedDir) ? readdirSync(committedDir) : [])]);
    for (const file of [...files].sort()) {
      const fresh = existsSync(join(out, name, file)) ? readFileSync(join(out, name, file)) : undefined;
      const committed = existsSync(join(committedDir, file)) ? readFileSync(join(committedDir, file)) : undefined;
      if (!fresh || !committed || !fresh.equals(committed)) stale.push(`dist/${name}/${file}`);
    }
  }
  rmSync(out, { recursive: true, force: true });
  if (stale.length) {
    console.error(`dist/ is stale: ${stale.join(', ')}.\nRun \`npm run build\` and commit dist/.`);
    process.exit(1);
  }
  console.log('dist/ matches the sources.');
}
