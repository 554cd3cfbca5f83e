// Section 5 of bench/run.mjs (`npm run bench -- manifests` runs it alone): render-and-validate-manifests
// against kubeconform -strict, on the same generated corpus, in the same run, on the same machine.
//
// Corpus: test/support/corpus.mjs, N objects (default 12,000; --objects N), written twice from the same seed:
// valid only, and with 5 % of the objects given a seeded mistake. Subjects, per corpus:
//   kubeconform   `kubeconform -strict -summary -schema-location <test bed schemas> -kubernetes-version 1.37.1
//                 -ignore-missing-schemas objects`: local schemas (made from our bundled store by
//                 scripts/testbed), its default parallelism (-n 4), its default text output. It skips the
//                 custom resources (no schema) that we validate against their CRDs.
//   ours, off     `node dist/render-and-validate-manifests/index.js` started as the runner starts it:
//                 INPUT_* for every input of action.yml (defaults, path=objects, policy=a file turning
//                 every check off: schema validation only, the like-for-like comparison), GITHUB_WORKSPACE
//                 = the corpus folder, fresh GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_STATE / GITHUB_ENV /
//                 GITHUB_PATH files, an event payload, RUNNER_TEMP. It writes the bundle, SARIF, JUnit, the
//                 summary and an annotation per finding, as on a runner.
//   ours, default the same with the default policies (what a user gets without a policy file).
// Each run goes through /usr/bin/time (peak RSS, user and system CPU); wall time is the bench's own
// clock, spawn to exit. One untimed warm-up round, then --rounds rounds (default 6, at least 5 unless
// --quick), all six subjects per round in a rotating order, so load from other work on the machine hits
// all alike. Every run is checked: kubeconform saw all N objects (and rejected none on the valid
// corpus), ours wrote its outputs and found the same number of errors every round (none on the valid
// corpus with policies off). Reported: wall time median and p90, objects/second at both, CPU seconds,
// peak RSS, the ratio ours ÷ kubeconform (throughput, median), and the 1-minute load average before
// every run. Target: ≥ 2× kubeconform's throughput with policies off.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { generateCorpus } from '../test/support/corpus.mjs';
import { bytes, median, parseFileCommands, percentile, round, table } from './lib.mjs';

const ACTION = 'render-and-validate-manifests';
const KUBERNETES_VERSION = '1.37.1';
export const MANIFESTS_TARGET = { ratio: 2 };
const TIME = '/usr/bin/time';

/**
 * Runs the section; returns what goes into results.json under `manifests`. Problems that make the
 * figures meaningless go to `problems` (non-zero exit), the rest to `notes`.
 */
export async function manifestsBench({ root, work, rounds, objects = 12_000, notes, problems }) {
  const tools = kubeconformTools(root);
  if (!tools) {
    problems.push('manifests: no kubeconform (KUBELINE_KUBECONFORM / KUBELINE_KUBECONFORM_SCHEMAS unset and `scripts/testbed tools` failed)');
    return { skipped: true };
  }
  const bundle = join(root, 'dist', ACTION, 'index.js');
  if (!existsSync(bundle)) {
    problems.push(`manifests: dist/${ACTION}/index.js is missing: run npm run build`);
    return { skipped: true };
  }
  const hasTime = existsSync(TIME);
  if (!hasTime) notes.push(`manifests: ${TIME} (GNU time) is missing: no peak RSS or CPU time (apt-get install time).`);

  const checks = policyChecks(root);
  console.error(`[bench] manifests: generating two corpora of ${objects} objects`);
  const corpora = [];
  for (const [name, invalidRate] of [['valid', 0], ['5% invalid', 0.05]]) {
    const dir = join(work, `corpus-${invalidRate}`);
    const t0 = performance.now();
    const m = generateCorpus(dir, { objects, seed: 'bench', invalidRate });
    writeFileSync(join(dir, 'policy-off.yml'), `checks:\n${checks.map((c) => `  ${c}: off\n`).join('')}`);
    corpora.push({
      name,
      dir,
      invalidRate,
      manifest: m,
      yamlBroken: m.mistakes.filter((x) => x.category.startsWith('yaml-')).length,
      kubeconformRejects: m.mistakes.filter((x) => x.kubeconform).length,
      ms: performance.now() - t0,
    });
  }
  const inputs = parseYaml(readFileSync(join(root, 'actions', ACTION, 'action.yml'), 'utf8')).inputs ?? {};

  const subjects = [];
  for (const c of corpora) {
    subjects.push({ tool: 'kubeconform', corpus: c, label: 'kubeconform -strict' });
    subjects.push({ tool: 'ours-off', corpus: c, label: 'ours, policies off' });
    subjects.push({ tool: 'ours-default', corpus: c, label: 'ours, default policies' });
  }
  for (const s of subjects) Object.assign(s, { samples: [], cpu: [], rss: [], load: [], outcomes: new Set(), failed: undefined });

  const total = rounds + 1;
  console.error(`[bench] manifests: ${subjects.length} subjects × (1 warm-up + ${rounds} rounds), interleaved`);
  const loadBefore = os.loadavg().map((x) => round(x, 2));
  for (let i = 0; i < total; i++) {
    const order = subjects.map((_, k) => subjects[(k + i) % subjects.length]);
    for (const s of order) {
      if (s.failed) continue;
      const load = os.loadavg()[0];
      const r = s.tool === 'kubeconform' ? await runKubeconform(tools, s.corpus, hasTime, work) : await runOurs(root, bundle, inputs, s, hasTime, work);
      const check = s.tool === 'kubeconform' ? checkKubeconform(r, s.corpus, objects) : checkOurs(r, s, objects);
      if (typeof check === 'string') {
        s.failed = check;
        problems.push(`manifests: ${s.label} on the ${s.corpus.name} corpus: ${check}`);
        continue;
      }
      s.outcomes.add(check.outcome);
      if (i === 0) continue; // warm-up: page cache, schema files, the bundle
      s.samples.push(r.ms);
      s.load.push(load);
      if (r.cpu !== undefined) s.cpu.push(r.cpu);
      if (r.rssKiB !== undefined) s.rss.push(r.rssKiB);
    }
  }
  // The same input must give the same answer every round.
  for (const s of subjects) if (!s.failed && s.outcomes.size > 1) problems.push(`manifests: ${s.label} on the ${s.corpus.name} corpus answered differently between rounds: ${[...s.outcomes].join(' | ')}`);

  const out = {
    corpus: corpora.map((c) => ({ name: c.name, seed: c.manifest.seed, objects: c.manifest.objects, files: c.manifest.files, bytes: c.manifest.bytes, invalidRate: c.invalidRate, mistakes: c.manifest.mistakes.length, kubeconformCatchable: c.kubeconformRejects, bySection: c.manifest.bySection, byKind: c.manifest.byKind, generatedMs: round(c.ms) })),
    kubeconform: { binary: tools.bin, schemas: tools.schemas, version: tools.version, args: kubeconformArgs(tools).join(' ') + ' objects' },
    bundle: `dist/${ACTION}/index.js`,
    rounds,
    cpus: os.cpus().length,
    loadBefore,
    subjects: [],
    ratios: {},
    target: MANIFESTS_TARGET,
  };
  const rows = [];
  for (const s of subjects) {
    if (s.failed) {
      out.subjects.push({ tool: s.tool, corpus: s.corpus.name, failed: s.failed });
      rows.push([s.corpus.name, s.label, 'failed', '', '', '', '', '', '']);
      continue;
    }
    const med = median(s.samples);
    const p90 = percentile(s.samples, 90);
    const x = {
      tool: s.tool,
      corpus: s.corpus.name,
      outcome: [...s.outcomes][0],
      wallMs: { median: round(med), p90: round(p90), min: round(Math.min(...s.samples)), samples: s.samples.map((v) => round(v)) },
      objectsPerSecond: { median: Math.round(objects / (med / 1000)), p90: Math.round(objects / (p90 / 1000)) },
      cpuSeconds: s.cpu.length ? { median: round(median(s.cpu), 2), samples: s.cpu.map((v) => round(v, 2)) } : null,
      peakRssMiB: s.rss.length ? { median: round(median(s.rss) / 1024), max: round(Math.max(...s.rss) / 1024) } : null,
      load1: { median: round(median(s.load), 2), max: round(Math.max(...s.load), 2) },
    };
    s.result = x;
    out.subjects.push(x);
    rows.push([
      s.corpus.name,
      s.label,
      `${(med / 1000).toFixed(2)} s`,
      `${(p90 / 1000).toFixed(2)} s`,
      x.objectsPerSecond.median.toLocaleString('en-US'),
      x.objectsPerSecond.p90.toLocaleString('en-US'),
      x.cpuSeconds ? `${x.cpuSeconds.median.toFixed(2)} s` : '—',
      x.peakRssMiB ? `${x.peakRssMiB.median.toFixed(0)} MiB` : '—',
      x.outcome,
    ]);
  }
  console.log(`\n5. render-and-validate-manifests vs kubeconform -strict: ${objects.toLocaleString('en-US')} objects, ${rounds} interleaved rounds after a warm-up (wall time spawn→exit)\n`);
  console.log(
    `   corpus (test/support/corpus.mjs, seed "bench"): ${corpora[0].manifest.files} files, ${bytes(corpora[0].manifest.bytes)}; ` +
      `${Object.entries(corpora[0].manifest.bySection).map(([k, v]) => `${k} ${v}`).join(', ')}; ` +
      `the 5 % corpus has ${corpora[1].manifest.mistakes.length} mistakes (${corpora[1].kubeconformRejects} of kinds kubeconform catches)\n`,
  );
  console.log(table(['corpus', 'subject', 'wall median', 'wall p90', 'objects/s (median)', 'objects/s (at p90 wall)', 'CPU (user+sys)', 'peak RSS', 'outcome'], rows));

  const ratioRows = [];
  for (const c of corpora) {
    const kc = subjects.find((s) => s.tool === 'kubeconform' && s.corpus === c)?.result;
    for (const tool of ['ours-off', 'ours-default']) {
      const ours = subjects.find((s) => s.tool === tool && s.corpus === c)?.result;
      if (!kc || !ours) continue;
      const ratio = kc.wallMs.median / ours.wallMs.median;
      const ratioP90 = kc.wallMs.p90 / ours.wallMs.p90;
      const cpuRatio = kc.cpuSeconds && ours.cpuSeconds ? kc.cpuSeconds.median / ours.cpuSeconds.median : NaN;
      const like = tool === 'ours-off';
      out.ratios[`${c.name}/${tool}`] = { throughput: round(ratio, 2), throughputP90: round(ratioP90, 2), cpu: round(cpuRatio, 2), target: like ? MANIFESTS_TARGET.ratio : null, met: like ? ratio >= MANIFESTS_TARGET.ratio : null };
      ratioRows.push([c.name, like ? 'policies off (like for like)' : 'default policies', `${ratio.toFixed(2)}×`, `${ratioP90.toFixed(2)}×`, Number.isFinite(cpuRatio) ? `${cpuRatio.toFixed(2)}×` : '—', like ? '≥ 2×' : '—', like ? (ratio >= MANIFESTS_TARGET.ratio ? 'met' : 'MISSED') : '(reference)']);
    }
  }
  console.log('\n   Ours ÷ kubeconform (throughput = kubeconform wall ÷ ours wall; CPU = kubeconform CPU seconds ÷ ours)\n');
  console.log(table(['corpus', 'ours', 'throughput (median)', 'throughput (p90)', 'CPU', 'target', 'verdict'], ratioRows));
  const loads = subjects.flatMap((s) => s.load);
  out.load1 = loads.length ? { min: round(Math.min(...loads), 2), median: round(median(loads), 2), max: round(Math.max(...loads), 2) } : null;
  out.loadAfter = os.loadavg().map((x) => round(x, 2));
  console.log(
    `\n   1-minute load average before each run: min ${out.load1?.min}, median ${out.load1?.median}, max ${out.load1?.max} on ${os.cpus().length} CPUs ` +
      `(${loadBefore.join(' / ')} at the start of the section, ${out.loadAfter.join(' / ')} at the end).`,
  );
  if ((out.load1?.median ?? 0) > os.cpus().length * 0.5) {
    console.log('   Other work ran alongside: wall times are inflated, kubeconform (4 workers on these CPUs) and ours (one thread) not alike; CPU seconds are the steadier comparison.');
  }
  console.log('   kubeconform skips the custom resources (no schema; -ignore-missing-schemas) that ours validates against their CRDs; "ours" includes its node start-up and writing the bundle, SARIF, JUnit and annotations.');
  return out;
}

/** Every policy check (CHECK_NAMES in packages/manifests), for the policy file that turns them all off. */
function policyChecks(root) {
  const source = readFileSync(join(root, 'packages', 'manifests', 'src', 'policy-config.ts'), 'utf8');
  const list = /export const CHECK_NAMES = \[([^\]]*)\]/.exec(source)?.[1];
  const names = [...(list ?? '').matchAll(/'([a-z-]+)'/g)].map((m) => m[1]);
  if (!names.length) throw new Error('manifests: CHECK_NAMES not found in packages/manifests/src/policy-config.ts');
  return names;
}

function kubeconformTools(root) {
  let bin = process.env.KUBELINE_KUBECONFORM;
  let schemas = process.env.KUBELINE_KUBECONFORM_SCHEMAS;
  if (!bin || !schemas) {
    console.error('[bench] manifests: no KUBELINE_KUBECONFORM: scripts/testbed tools');
    try {
      const out = spawnSyncText(join(root, 'scripts', 'testbed'), ['tools'], root);
      for (const line of out.split('\n')) {
        const m = /^export (KUBELINE_KUBECONFORM(?:_SCHEMAS)?)=(.*)$/.exec(line.trim());
        if (m) process.env[m[1]] = m[2].replace(/^'(.*)'$/, '$1');
      }
    } catch {
      return undefined;
    }
    bin = process.env.KUBELINE_KUBECONFORM;
    schemas = process.env.KUBELINE_KUBECONFORM_SCHEMAS;
  }
  if (!bin || !schemas) return undefined;
  let version = '?';
  try {
    version = spawnSyncText(bin, ['-v'], root).trim();
  } catch {
    // reported as '?'
  }
  return { bin, schemas, version };
}

function spawnSyncText(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const kubeconformArgs = (tools) => ['-strict', '-summary', '-schema-location', tools.schemas, '-kubernetes-version', KUBERNETES_VERSION, '-ignore-missing-schemas'];

function runKubeconform(tools, corpus, hasTime, work) {
  return timed(tools.bin, [...kubeconformArgs(tools), 'objects'], { cwd: corpus.dir, env: process.env }, hasTime, work);
}

/** Outcome text, or a string saying why the run does not count. */
function checkKubeconform(r, corpus, objects) {
  const m = /Summary: (\d+) resources? found in (\d+) files? - Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)/.exec(r.stdout);
  if (!m) return `no summary line (exit ${r.code}): ${r.stderr.slice(-300)}${r.stdout.slice(-300)}`;
  const [, found, , , invalid, errors, skipped] = m.map(Number);
  if (found !== objects) return `saw ${found} resources, not ${objects}`;
  const rejected = invalid + errors;
  if (rejected !== corpus.kubeconformRejects) return `rejected ${rejected} objects; the corpus has ${corpus.kubeconformRejects} mistakes it can catch`;
  if ((rejected > 0) !== (r.code !== 0)) return `exit ${r.code} with ${rejected} rejected`;
  return { outcome: `${rejected} rejected, ${skipped} skipped` };
}

function runOurs(root, bundle, inputs, s, hasTime, work) {
  const dir = join(work, 'runner');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'runner-temp'), { recursive: true });
  const files = { GITHUB_OUTPUT: 'output', GITHUB_STEP_SUMMARY: 'summary.md', GITHUB_ENV: 'env', GITHUB_STATE: 'state', GITHUB_PATH: 'path' };
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(INPUT_|GITHUB_|STATE_|RUNNER_)/.test(k)) env[k] = v;
  for (const [k, f] of Object.entries(files)) {
    env[k] = join(dir, f);
    writeFileSync(env[k], '');
  }
  const sha = 'b'.repeat(40);
  writeFileSync(join(dir, 'event.json'), JSON.stringify({ ref: 'refs/heads/main', after: sha, head_commit: { id: sha, timestamp: '2026-01-01T00:00:00Z' }, repository: { full_name: 'local/bench', default_branch: 'main' } }));
  Object.assign(env, {
    GITHUB_EVENT_PATH: join(dir, 'event.json'),
    GITHUB_EVENT_NAME: 'push',
    GITHUB_SHA: sha,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REPOSITORY: 'local/bench',
    GITHUB_WORKSPACE: s.corpus.dir,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '1',
    GITHUB_ACTION: ACTION,
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: join(dir, 'runner-temp'),
  });
  const given = { path: 'objects', policy: s.tool === 'ours-off' ? 'policy-off.yml' : '' };
  for (const [name, spec] of Object.entries(inputs)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(given[name] ?? spec?.default ?? '');
  return timed(process.execPath, [bundle], { cwd: s.corpus.dir, env, outputs: env.GITHUB_OUTPUT }, hasTime, work);
}

function checkOurs(r, s, objects) {
  let outputs;
  try {
    outputs = parseFileCommands(readFileSync(r.outputs, 'utf8'));
  } catch {
    return `no GITHUB_OUTPUT file (exit ${r.code})`;
  }
  if (outputs.errors === undefined) return `no outputs written (exit ${r.code}): ${r.stdout.slice(-400)}${r.stderr.slice(-400)}`;
  const errors = Number(outputs.errors);
  const seen = JSON.parse(outputs.objects ?? '[]').length;
  if (seen !== objects - s.corpus.yamlBroken) return `saw ${seen} objects, not ${objects - s.corpus.yamlBroken}`;
  if ((errors > 0) !== (r.code !== 0)) return `exit ${r.code} with ${errors} errors`;
  if (s.tool === 'ours-off' && s.corpus.invalidRate === 0 && errors !== 0) return `${errors} errors on the valid corpus with policies off`;
  if (s.tool === 'ours-off' && errors < s.corpus.manifest.mistakes.length - s.corpus.manifest.mistakes.filter((m) => m.category.startsWith('null-')).length)
    return `${errors} errors for ${s.corpus.manifest.mistakes.length} seeded mistakes`;
  return { outcome: `${errors} errors, ${outputs.warnings} warnings` };
}

/**
 * Spawns cmd through GNU time when there is one (peak RSS, CPU); wall time spawn→exit on the
 * monotonic clock. Output is collected (the tools print one line per finding).
 */
function timed(cmd, args, { cwd, env, outputs }, hasTime, work) {
  const timeFile = join(work, 'time.txt');
  rmSync(timeFile, { force: true });
  const [bin, argv] = hasTime ? [TIME, ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(bin, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      let cpu;
      let rssKiB;
      if (hasTime && existsSync(timeFile)) {
        const fields = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
        if (fields.length === 4 && fields.every(Number.isFinite)) {
          cpu = fields[1] + fields[2];
          rssKiB = fields[3];
        }
      }
      resolve({ code: code ?? 128, stdout, stderr, ms, cpu, rssKiB, outputs });
    });
  });
}
