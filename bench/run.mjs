#!/usr/bin/env node
// Kubeline benchmark — `npm run bench` (from the repository root, test bed and cluster up or not).
//
// It reports; it is not a test. Nine parts, in one run on one machine (sections startup, size,
// pipeline, manifests, deploy-wait, deploy-apply, retag, gitops, gradual; the environment facts always):
//
//  1. Start-up of each action bundle (dist/<action>/index.js): the time from process start to the
//     first input read, above bare `node -e 0`. Each bundle is started as the runner starts it
//     (`node <bundle>`, INPUT_* variables with action.yml's defaults, GITHUB_OUTPUT / GITHUB_STATE /
//     GITHUB_STEP_SUMMARY / GITHUB_ENV / GITHUB_PATH files, an event payload, RUNNER_TEMP) but with
//     one input invalid so that it fails right at reading its inputs: build-test-image `build-args`
//     (not key=value), run-tests `run` (empty), push-image `repositories` (empty), render-and-validate-manifests
//     `path` (empty), deploy `manifests` (empty), promote `mode` (not a mode). DOCKER_HOST points at a
//     socket that does not exist, and every run must end with the action's own input error naming
//     that input (else the measurement is refused), so no docker work is in the figure. Wall time
//     from spawn to exit, per run, with the monotonic clock; the subjects are interleaved round-robin
//     (rotating order) after warm-up runs, so drift and load hit all alike. Reported: median and p90
//     of wall time, minus the median of bare `node -e 0` measured in the same loop, and the fastest
//     run minus the fastest bare run (a floor that load from other users cannot inflate).
//     Target: median ≤ 50 ms above bare node (issue 12).
//     Beside them, same loop, for reference: `node empty.mjs` (the ESM loader alone), the local
//     runner's CLI (`dist/cli --help`), a "floor" (the smallest possible @actions/core action,
//     bench/floor-action.mjs, bundled at bench time into the cache folder twice: with ncc --minify,
//     the bundler the actions had before, and with scripts/bundle.mjs, the one they have now),
//     the same floor with the runner protocol written by hand (no @actions/core: what loading the
//     code of an action can cost at least), and the peers docker/build-push-action, login-action and metadata-action when a copy of them
//     is in the peers folder (${KUBELINE_BENCH_PEERS:-~/.cache/kubeline/bench/peers}/<owner>/<name>/,
//     holding the action's action.yml and dist/; see PEERS below). Their code is never put in this
//     repository, and this script downloads nothing: this machine cannot reach GitHub, and no package
//     registry ships those actions' dist/ (npm has @docker/actions-toolkit, their library, not the
//     actions). Without a copy they are skipped with a note.
//  2. Bundle sizes: bytes of all .js files in dist/<action>/ (index.js and the chunks it loads lazily,
//     so a split into chunks cannot hide), and of index.js alone. Target: ≤ 1 MB (1,000,000 bytes) each.
//  3. The pipeline on examples/demo against the same work as raw docker commands typed by hand, in
//     one run: three variants, interleaved round by round (all six orders), medians compared.
//       raw:      DOCKER_BUILDKIT=1 docker build --target test -t T <context>
//                 docker run --name C T python3 -m pytest --junitxml=/reports/junit.xml; docker cp; docker rm
//                 DOCKER_BUILDKIT=1 docker build -t R:t1 -t R:t2 -t R:t3 <context>   (final stage)
//                 docker login --password-stdin; docker push R:t1; … R:t3; docker logout   (own DOCKER_CONFIG)
//                 Each call is timed by the bench (spawn → close), so raw's per-call costs are known.
//       gh:       kubeline as GitHub runs it — the target applies to this one. The bench is the runner:
//                 it starts `node dist/<action>/index.js` (runs.main of actions/<action>/action.yml) for
//                 build-test-image, run-tests, push-image, then the post steps (runs.post) in reverse
//                 order, push-image then run-tests, as the runner does at the end of a job. Each step
//                 gets INPUT_* for every input of action.yml (the default unless given: scripts/demo's
//                 inputs, plus `image` naming the test image so concurrent users of the test bed cannot
//                 retag it under us), fresh GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_STATE /
//                 GITHUB_ENV / GITHUB_PATH files, GITHUB_EVENT_PATH with a push payload, GITHUB_SHA /
//                 GITHUB_REF / GITHUB_REPOSITORY … from this checkout's HEAD (read once, as the local
//                 runner reads them), RUNNER_TEMP; a post step also gets STATE_<name> from its main
//                 step's GITHUB_STATE file (`name=value` and `name<<DELIMITER` entries, last one wins).
//                 run-tests' `image` is build-test-image's `image` output. The stage figure of an action
//                 is its main step plus its post step. Files are made before the clock starts.
//       cli:      `kubeline run <action>` (the local runner: its CLI process, 4 git look-ups, then the same
//                 bundles and post steps), started as `node packages/runner/bin/kubeline.js`, the file
//                 node_modules/.bin/kubeline links to. Reported beside, without a target: its extra node
//                 processes and git calls do not exist on GitHub.
//     Fairness: all three push the same three tags (those kubeline's rules type=sha,
//     type=ref,event=branch, type=raw,value=demo produce), one `docker push` per tag as kubeline does,
//     each variant to its own repository, per scenario.
//       Scenario A, "no change": context examples/demo. One untimed warm-up round fills the build cache
//         and each variant's repository; every timed round then rebuilds and pushes the same source to
//         the same repository — a CI rerun of the same commit. Asserted on every timed round, every
//         variant: no build step ran (every step CACHED in the BuildKit log; kubeline's summaries say
//         "| N | 0 |" and "N steps from cache, 0 run"), no layer uploaded (every layer "Layer already
//         exists"), and kubeline pushed the same digest every round.
//       Scenario B, "a real change": context = a copy of examples/demo in the bench's temp folder
//         (examples/demo itself is never written). Right before every run of every variant (untimed),
//         demo/core.py gets one new comment line with a fresh random token (same size each time), so
//         each run really runs COPY demo/, RUN compileall and the test stage's steps, and pushes new
//         layers; no variant can reuse another's result. One untimed warm-up round. Asserted: every run
//         rebuilt COPY demo/ and RUN compileall, uploaded layers ("Pushed"), kubeline a new digest.
//       Then, outside the comparison, --traced rounds (default 2) per scenario in which every kubeline
//       node process loads bench/trace-hook.mjs (NODE_OPTIONS=--import) to log its start, its child
//       processes (docker, git, node) and its fetch() requests: kubeline's extra time is cut into node
//       start-up, bundle load, git, docker calls beyond raw's, the same calls' difference, registry HTTP
//       and the rest. And unit costs measured alone: each extra docker call, one registry request, the
//       first fetch() of a fresh process. Target (issue 12): the five node processes of the pipeline
//       as GitHub runs it (three main steps, two post steps) take ≤ 250 ms in total from node's start
//       (the trace hook) to each one's first call (load to 1st call, summed; node's own start, which no
//       bundle changes, is shown beside).
//  4. Environment facts: node, docker client/server, builder, CPUs, memory, load average before and
//     after (the test bed is shared; a busy machine shows there), commit and bundle hashes.
//  5. render-and-validate-manifests against kubeconform -strict on a generated corpus of --objects
//     objects (default 12,000; test/support/corpus.mjs), valid only and with 5 % seeded mistakes: kubeconform
//     with the test bed's local schemas and its default parallelism, and the action's bundle as the
//     runner runs it with every policy check off (the like-for-like comparison) and with the default
//     policies; interleaved rounds, medians and p90, objects/second, CPU seconds, peak RSS, load
//     average. Target: ≥ 2× kubeconform's throughput. Details in bench/manifests.mjs. Needs kubeconform
//     and helm from the test bed (`scripts/testbed tools`, which it runs when KUBELINE_KUBECONFORM is
//     unset), not Docker.
//  6. deploy-wait (bench/deploy-wait.mjs): deploy's wait (waitForAll) on the test bed's control plane
//     against `kubectl rollout status`, same run, same Deployments. (a) Latency from the moment the
//     last workload is available (the completing Deployment event, as an independent watch receives
//     it) to waitForAll returning, --rounds rounds, median and p90. Target: median < 250 ms.
//     (b) N = 1, 10, 50 Deployments rolling out together: waitForAll over all of them against
//     `kubectl rollout status` per Deployment in sequence (what Azure/k8s-deploy does). Target: the
//     total ≈ the slowest Deployment (total − slowest < 250 ms, the slowest as an independent watch
//     sees the last one complete).
//  7. deploy-apply (bench/deploy-apply.mjs): a 500-object bundle for one namespace (ConfigMaps,
//     Secrets, ServiceAccounts, Roles, RoleBindings, Services, Deployments) applied by applyBundle
//     against `kubectl apply --server-side -f`, same files, same cluster, same run, --rounds
//     interleaved rounds (at least 3), each subject into a fresh namespace: (a) the first apply
//     (create), (b) again with no change, (c) with 50 objects changed. Reported: wall time median and
//     p90, API requests (ours: KubeClient's counter; kubectl: its -v=6 log). No target: the figures,
//     beside kubectl's (and kubectl --validate=false, as a reference).
//  8. retag (bench/retag.mjs): promote's registry mode — copyImage of a ~100 MB image to another
//     repository of the same registry (blob mount) and to the other registry (streamed copy), against
//     `docker pull && docker tag && docker push` of the same image, interleaved rounds; wall time and
//     bytes sent (counted by a TCP proxy in front of each registry). Targets: the mount sends about
//     the manifest's size, and ≥ 10× faster than docker.
//  9. gitops (bench/gitops.mjs): promote's GitOps mode — promoteByCommit writing a fresh digest into a
//     kustomization's images: entry of an environment repository (~330 files, 120 commits, made per
//     run with git fast-import) and pushing it to main, against `sh -c "git clone --depth 1 && sed -i
//     && git commit -am && git push"` on the same repository, over file:// and over HTTP on 127.0.0.1
//     (git http-backend in a child process), --rounds interleaved rounds (at least 5) after a warm-up;
//     every run checked on the remote (one new commit on the previous tip, one line changed, the
//     digest at the tip). Wall time from start to pushed commit, median and p90; shell ÷ ours (no
//     target); HTTP requests; git processes and their time from one GIT_TRACE2_EVENT round. Needs git only.
// 10. gradual (bench/gradual.mjs): a canary rollout's per-step overhead — from one step's end to the
//     next weight applied and Ready, against the same replica split done by hand (two SSA patches and
//     a watch) in the same run. Target (issue 10): under 1 s beyond the pods' own start. Needs the cluster.
//     Both deploy sections need the test bed's cluster: without KUBELINE_KUBECONFIG they run
//     `scripts/cluster up` (never `down`: it is shared) and take its variables. Their kubectl is the
//     machine's /usr/bin/kubectl (a vendor's v1.32 build): fine for a comparison in a bench, never a
//     dependency of the project. Their code under test is bundled from packages/kube/src with ncc
//     into the cache folder (bench/lib.mjs importFromSource). Namespaces bench-wait-* and
//     bench-apply-*, deleted (and waited for) at the end of each section.
//
// Everything is printed as tables (targets beside the figures) and written to bench/results.json.
//
// Exit status: 0 whenever it could measure, even with a target missed (printed MISSED). Non-zero only
// when (a) a Kubeline measurement could not be made or is not what it claims (a bundle missing or not
// failing at its input read, a pipeline step failing), (b) a scenario check fails (in A something was
// rebuilt or re-uploaded; in B a change was not rebuilt or not uploaded; tests failed), or (c) a target
// is missed by a wide margin: start-up median more than 100 ms above bare node (2×), a bundle over
// 1.5 MB (1.5×), pipeline overhead as GitHub runs it over 15 % in either scenario (3×, since a 3-5 s
// pipeline on a shared 2-core machine has noise of a few per cent), deploy's wait latency median over
// 500 ms (2×). In the deploy sections, (a) also covers a wait that does not end ready and an apply
// whose outcomes are not what the phase makes (500 created; 500 unchanged; 50 configured) or a kubectl
// run that fails; the cluster not coming up is a problem too.
//
// Options: --quick (fewer runs, for trying it out), --only startup,size,pipeline,manifests,deploy-wait,
// deploy-apply (or the section names alone: `npm run bench -- manifests`, `npm run bench -- deploy-apply`),
// --runs N (start-up runs per subject, default 30), --warmup N (default 3), --rounds N (pipeline rounds
// per scenario, manifests rounds, deploy-wait latency rounds and deploy-apply rounds (at least 3),
// default 6: each of the six orders of the three variants once), --traced N (traced rounds per
// scenario, default 2), --objects N (manifests corpus size, default 12000). Environment: the test
// bed's variables (`eval "$(scripts/testbed env)"`; without them it runs `scripts/testbed up` as
// scripts/demo does), KUBELINE_KUBECONFIG (`eval "$(scripts/cluster env)"`; without it the deploy
// sections run `scripts/cluster up`), KUBELINE_BENCH_PEERS (peers folder), KUBELINE_CACHE,
// KUBELINE_BENCH_CACHE. Whole run: about 5-6 minutes on 2 cores for the first four sections, plus
// about 3 for deploy-wait and 10 for deploy-apply (kubectl takes some 25 s per 500-object apply).
// Leaves behind: repositories kubeline-bench/<id>-* in the test bed's registry (scenario A: manifests
// only; scenario B: a few small new layers per run); it removes its local image tags, scenario B's
// images and its containers. The build cache keeps scenario B's few small layers.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import os from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { addCounts, buildkitSteps, bytes, median, ms, parseFileCommands, pct, pushLayers, round, run, sec, signedMs, summarize, table, unionMs } from './lib.mjs';
import { manifestsBench } from './manifests.mjs';
import { DEPLOY_WAIT_TARGET, deployWaitBench } from './deploy-wait.mjs';
import { deployApplyBench } from './deploy-apply.mjs';
import { retagBench } from './retag.mjs';
import { gitopsBench } from './gitops.mjs';
import { gradualBench } from './gradual.mjs';

const root = resolve(import.meta.dirname, '..');
const ACTIONS = ['build-test-image', 'run-tests', 'push-image', 'render-and-validate-manifests', 'deploy', 'promote'];
const TARGET = { startupMs: 50, bundleBytes: 1_000_000, overheadPct: 5, pipelineNodeMs: 250 };
const WIDE = { startupMs: 100, bundleBytes: 1_500_000, overheadPct: 15 };
const STAGES = ['build-test-image', 'run-tests', 'push-image'];
const VARIANTS = ['raw', 'gh', 'cli'];
const VARIANT_LABEL = { raw: 'raw docker', gh: 'kubeline, as GitHub runs it', cli: 'kubeline run (local runner)' };
/** The six orders of the three variants: over 6 rounds each variant takes each place twice. */
const ORDERS = [
  ['raw', 'gh', 'cli'],
  ['gh', 'cli', 'raw'],
  ['cli', 'raw', 'gh'],
  ['raw', 'cli', 'gh'],
  ['cli', 'gh', 'raw'],
  ['gh', 'raw', 'cli'],
];
const epochNow = () => performance.timeOrigin + performance.now();
/** The input that each action reads first and that we make invalid, and the error we then expect. */
const INVALID = {
  'build-test-image': { input: 'build-args', value: 'not-a-key-value-pair' },
  'run-tests': { input: 'run', value: '' },
  'push-image': { input: 'repositories', value: '' },
  'render-and-validate-manifests': { input: 'path', value: '' },
  deploy: { input: 'manifests', value: '' },
  promote: { input: 'mode', value: 'not-a-mode' },
};
/**
 * Peers, measured when a copy of the action (its action.yml and dist/) is in
 * <peers dir>/<owner>/<name>/. The invalid inputs are chosen to fail at the
 * inputs' parsing (a non-boolean for a boolean input; a CSV list with an open
 * quote); the error each one printed is shown, so the reader can check.
 */
const PEERS = [
  { repo: 'docker/build-push-action', invalid: { load: 'not-a-boolean', push: 'not-a-boolean', pull: 'not-a-boolean', 'no-cache': 'not-a-boolean' } },
  { repo: 'docker/login-action', invalid: { logout: 'not-a-boolean' } },
  { repo: 'docker/metadata-action', invalid: { images: '"open-quote' } },
];

const opts = parseOptions(process.argv.slice(2));
const cacheRoot = resolve(process.env.KUBELINE_CACHE || join(homedir(), '.cache', 'kubeline'));
const peersDir = resolve(process.env.KUBELINE_BENCH_PEERS || join(cacheRoot, 'bench', 'peers'));
const work = mkdtempSync(join(tmpdir(), 'kubeline-bench-'));
let peersCache; // availablePeers()
const problems = []; // reasons for a non-zero exit
const notes = [];
const results = { startedAt: new Date().toISOString(), options: { ...opts, only: [...opts.only] }, targets: TARGET, wideMargin: WIDE };

try {
  results.environment = await environment();
  printEnvironment(results.environment);
  if (opts.only.has('startup')) results.startup = await startup();
  if (opts.only.has('size')) results.sizes = sizes();
  if (opts.only.has('pipeline')) results.pipeline = await pipeline();
  if (opts.only.has('manifests')) results.manifests = await manifestsBench({ root, work, rounds: opts.rounds, objects: opts.objects, notes, problems });
  if (opts.only.has('deploy-wait')) results.deployWait = await deployWaitBench({ root, rounds: opts.rounds, notes, problems });
  if (opts.only.has('deploy-apply')) results.deployApply = await deployApplyBench({ root, rounds: opts.rounds, notes, problems });
  if (opts.only.has('retag')) results.retag = await retagBench({ root, rounds: Math.min(opts.rounds, 5), notes, problems });
  if (opts.only.has('gitops')) results.gitops = await gitopsBench({ root, rounds: Math.max(opts.rounds, 5), notes, problems });
  if (opts.only.has('gradual')) results.gradual = { ...(await gradualBench({ root, rounds: Math.min(opts.rounds, 3), notes, problems })), load: os.loadavg().map((x) => round(x, 2)) };
  results.loadAfter = os.loadavg().map((x) => round(x, 2));
  // The tree is shared: a bundle rebuilt while we measured makes the figures a mix of two builds.
  const after = bundleHashes();
  const changed = Object.keys(after).filter((k) => after[k] !== results.environment.bundles[k]);
  if (changed.length) problems.push(`dist/ changed during the run (${changed.map((k) => `${k} ${results.environment.bundles[k]} → ${after[k]}`).join(', ')}): the figures mix two builds; run again.`);
  results.summary = summary();
} catch (err) {
  problems.push(`bench crashed: ${err.stack ?? err}`);
  console.error(err);
} finally {
  rmSync(work, { recursive: true, force: true });
  results.finishedAt = new Date().toISOString();
  results.notes = notes;
  results.problems = problems;
  writeFileSync(join(root, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
}
if (notes.length) console.log(`\nNotes\n${notes.map((n) => `  - ${n}`).join('\n')}`);
if (problems.length) console.log(`\nProblems (exit 1)\n${problems.map((p) => `  - ${p}`).join('\n')}`);
console.log(`\nWrote ${relative(process.cwd(), join(root, 'bench', 'results.json')) || 'bench/results.json'}.`);
process.exitCode = problems.length ? 1 : 0;

// ── options ───────────────────────────────────────────────────────────────────

function parseOptions(argv) {
  const sections = ['startup', 'size', 'pipeline', 'manifests', 'deploy-wait', 'deploy-apply', 'retag', 'gitops', 'gradual'];
  const o = { runs: 30, warmup: 3, rounds: 6, traced: 2, objects: 12_000, only: new Set(sections), quick: false };
  const named = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--quick') Object.assign(o, { quick: true, runs: 8, warmup: 2, rounds: 2, traced: 1 });
    else if (flag === '--runs') o.runs = Number(value());
    else if (flag === '--warmup') o.warmup = Number(value());
    else if (flag === '--rounds') o.rounds = Number(value());
    else if (flag === '--traced') o.traced = Number(value());
    else if (flag === '--only') o.only = new Set(value().split(','));
    else if (flag === '--objects') o.objects = Number(value());
    else if (sections.includes(flag)) named.push(flag);
    else {
      console.error(`bench: unknown option ${argv[i]}. Options: [${sections.join('|')} ...], --quick, --only ${sections.join(',')}, --runs N, --warmup N, --rounds N, --traced N, --objects N`);
      process.exit(2);
    }
  }
  if (named.length) o.only = new Set(named);
  const unknown = [...o.only].filter((x) => !sections.includes(x));
  if (unknown.length) {
    console.error(`bench: unknown section ${unknown.join(', ')}; sections: ${sections.join(', ')}`);
    process.exit(2);
  }
  if (!Number.isInteger(o.objects) || o.objects < 1000) {
    console.error('bench: --objects wants a whole number ≥ 1000 (the target is measured on at least 10,000: the default is 12000)');
    process.exit(2);
  }
  for (const k of ['runs', 'warmup', 'rounds', 'traced']) {
    if (!Number.isInteger(o[k]) || o[k] < (k === 'warmup' ? 0 : 1)) {
      console.error(`bench: --${k} wants a whole number`);
      process.exit(2);
    }
  }
  return { ...o, only: o.only };
}

// ── environment ─────────────────────────────────────────────────────────────

async function environment() {
  await ensureTestbedEnv();
  const docker = spawnSync('docker', ['version', '--format', '{{.Client.Version}}|{{.Server.Version}}'], { encoding: 'utf8' });
  const [client, server] = docker.status === 0 ? docker.stdout.trim().split('|') : ['?', '?'];
  const buildx = spawnSync('docker', ['buildx', 'version'], { encoding: 'utf8' });
  const git = (a) => spawnSync('git', a, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';
  const cpus = os.cpus();
  const hashes = bundleHashes();
  return {
    node: process.version,
    nodePath: process.execPath,
    docker: { client, server, reachable: docker.status === 0, host: process.env.DOCKER_HOST ?? '(default socket)' },
    builder: buildx.status === 0 ? `buildx (${buildx.stdout.trim()})` : 'classic: DOCKER_BUILDKIT=1 docker build (engine BuildKit; no buildx plugin)',
    cpus: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? '?',
    availableParallelism: os.availableParallelism(),
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    loadBefore: os.loadavg().map((x) => round(x, 2)),
    commit: git(['rev-parse', '--short=12', 'HEAD']),
    uncommitted: git(['status', '--porcelain', '--', 'dist', 'actions', 'packages']).split('\n').filter(Boolean).length,
    bundles: hashes,
    registry: process.env.KUBELINE_REGISTRY ?? null,
  };
}

function bundleHashes() {
  const hashes = {};
  for (const name of [...ACTIONS, 'cli']) {
    const f = join(root, 'dist', name, 'index.js');
    hashes[name] = existsSync(f) ? createHash('sha256').update(readFileSync(f)).digest('hex').slice(0, 12) : 'missing';
  }
  return hashes;
}

/** Like scripts/demo: without the test bed's variables, bring it up (or reuse it) and take them. */
async function ensureTestbedEnv() {
  if (process.env.KUBELINE_REGISTRY && process.env.DOCKER_HOST) return;
  if (!opts.only.has('pipeline') && !opts.only.has('retag')) return;
  console.error('[bench] no test bed variables: scripts/testbed up');
  const out = spawnSync(join(root, 'scripts', 'testbed'), ['up'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (out.status !== 0) {
    notes.push('the test bed did not come up (scripts/testbed up failed): the pipeline and retag sections cannot run.');
    return;
  }
  for (const line of out.stdout.split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
  }
}

function printEnvironment(e) {
  console.log('Kubeline bench\n');
  console.log(
    table(
      ['environment', ''],
      [
        ['node', `${e.node} (${e.nodePath})`],
        ['docker', `client ${e.docker.client}, server ${e.docker.server}${e.docker.reachable ? '' : ' (not reachable)'}`],
        ['builder', e.builder],
        ['cpu', `${e.cpus} × ${e.cpuModel} (available parallelism ${e.availableParallelism})`],
        ['memory', `${e.memoryGiB} GiB`],
        ['kernel', e.kernel],
        ['load average', `${e.loadBefore.join(' / ')} (1/5/15 min, at start)`],
        ['commit', `${e.commit}${e.uncommitted ? ` + ${e.uncommitted} uncommitted change(s) in dist/ actions/ packages/` : ''}`],
        ['bundles (sha256)', Object.entries(e.bundles).map(([k, v]) => `${k} ${v}`).join(', ')],
      ],
    ),
  );
}

// ── 2. sizes ────────────────────────────────────────────────────────────────

function sizes() {
  const rows = [];
  const out = [];
  for (const name of [...ACTIONS, 'cli']) {
    const dir = join(root, 'dist', name);
    const file = join(dir, 'index.js');
    if (!existsSync(file)) {
      out.push({ name, missing: true });
      rows.push([`dist/${name}/index.js`, 'missing', '', '', name === 'cli' ? '—' : '≤ 1 MB (all .js)', name === 'cli' ? '' : 'MISSING']);
      if (name !== 'cli') problems.push(`dist/${name}/index.js is missing: run npm run build`);
      continue;
    }
    const size = statSync(file).size;
    // The verdict is on every .js file of the folder: index.js and the chunks it loads lazily.
    const js = readdirSync(dir).filter((f) => /\.(c|m)?js$/.test(f));
    const allJs = js.reduce((s, f) => s + statSync(join(dir, f)).size, 0);
    const gz = gzipSync(Buffer.concat(js.map((f) => readFileSync(join(dir, f)))), { level: 9 }).length;
    const isAction = name !== 'cli';
    const met = allJs <= TARGET.bundleBytes;
    if (isAction && allJs > WIDE.bundleBytes) problems.push(`dist/${name}/ holds ${bytes(allJs)} of .js, far over the 1 MB target`);
    out.push({ name, bytes: size, gzipBytes: gz, allJsBytes: allJs, files: js.length, target: isAction ? TARGET.bundleBytes : null, met: isAction ? met : null });
    rows.push([`dist/${name}/`, bytes(size), `${bytes(allJs)}${js.length > 1 ? ` (${js.length} files)` : ''}`, bytes(gz), isAction ? '≤ 1 MB (all .js)' : '—', isAction ? (met ? 'met' : 'MISSED') : '(runner CLI)']);
  }
  for (const peer of availablePeers()) {
    const dist = join(peer.dir, 'dist');
    const main = peer.main;
    const size = statSync(main).size;
    const allJs = existsSync(dist) ? readdirSync(dist).filter((f) => /\.(c|m)?js$/.test(f)).reduce((s, f) => s + statSync(join(dist, f)).size, 0) : size;
    out.push({ name: peer.repo, peer: true, bytes: size, gzipBytes: gzipSync(readFileSync(main), { level: 9 }).length, allJsBytes: allJs });
    rows.push([`${peer.repo} ${relative(peer.dir, main)}`, bytes(size), bytes(allJs), `${bytes(out.at(-1).gzipBytes)} (${basename(main)})`, '—', '(peer)']);
  }
  console.log('\n2. Bundle sizes (1 MB = 1,000,000 bytes)\n');
  console.log(table(['bundle', 'index.js', 'all .js in folder', 'gzip -9 (all .js)', 'target', 'verdict'], rows));
  return out;
}

// ── 1. start-up ─────────────────────────────────────────────────────────────

async function startup() {
  const subjects = [];
  subjects.push({ name: 'node -e 0 (bare)', kind: 'bare', args: ['-e', '0'], env: () => ({ ...cleanEnv() }), check: (r) => r.status === 0 || `exit ${r.status}` });
  const empty = join(work, 'empty.mjs');
  writeFileSync(empty, '');
  subjects.push({ name: 'node empty.mjs (ESM loader)', kind: 'info', args: [empty], env: () => cleanEnv(), check: (r) => r.status === 0 || `exit ${r.status}` });
  for (const name of ACTIONS) {
    const bundle = join(root, 'dist', name, 'index.js');
    if (!existsSync(bundle)) {
      problems.push(`start-up of ${name}: dist/${name}/index.js is missing`);
      continue;
    }
    const manifest = parseYaml(readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8'));
    const bad = INVALID[name];
    subjects.push({
      name,
      kind: 'kubeline',
      args: [bundle],
      env: () => protocolEnv(name, manifest.inputs ?? {}, { [bad.input]: bad.value }),
      check: (r) => {
        if (r.status !== 1) return `exit ${r.status} (expected 1); stderr: ${tailOf(r.stderr)}`;
        const want = `::error::${name}: input '${bad.input}'`;
        return r.stdout.includes(want) || `did not fail at reading input '${bad.input}': ${tailOf(r.stdout + r.stderr)}`;
      },
    });
  }
  const cli = join(root, 'dist', 'cli', 'index.js');
  if (existsSync(cli)) {
    subjects.push({ name: 'kubeline CLI (dist/cli, --help)', kind: 'info', args: [cli, '--help'], env: () => cleanEnv(), check: (r) => (r.status === 0 && r.stdout.startsWith('Usage')) || `exit ${r.status}` });
  }
  // The same smallest @actions/core action from both bundlers: what the bundler alone costs at start.
  for (const [label, floor] of [['ncc --minify', floorBundle()], ['esbuild, as the actions', await floorBundleEsbuild()]]) {
    if (!floor) continue;
    subjects.push({
      name: `floor: bare @actions/core action (${label})`,
      kind: 'info',
      args: [floor],
      env: () => protocolEnv('floor', { value: {} }, { value: '' }),
      check: (r) => (r.status === 1 && r.stdout.includes('::error::floor:')) || `exit ${r.status}: ${tailOf(r.stdout + r.stderr)}`,
    });
  }
  // The same floor with the runner protocol written by hand (no @actions/core): what a process costs
  // when loading the action's code is close to free.
  const plain = join(work, 'floor-plain.mjs');
  writeFileSync(
    plain,
    "const value = (process.env.INPUT_VALUE ?? '').trim();\n" +
      "if (!value) {\n  process.stdout.write(\"::error::floor: input 'value' is required\\n\");\n  process.exitCode = 1;\n}\n",
  );
  subjects.push({
    name: 'floor: same, protocol by hand',
    kind: 'info',
    args: [plain],
    env: () => protocolEnv('floor-plain', { value: {} }, { value: '' }),
    check: (r) => (r.status === 1 && r.stdout.includes('::error::floor:')) || `exit ${r.status}: ${tailOf(r.stdout + r.stderr)}`,
  });
  for (const peer of availablePeers()) {
    subjects.push({
      name: peer.repo,
      kind: 'peer',
      args: [peer.main],
      env: () => protocolEnv(peer.repo.split('/')[1], peer.inputs, peer.invalid),
      check: (r) => {
        const error = /::error::(.*)/.exec(r.stdout)?.[1];
        peer.error = error ?? tailOf(r.stdout + r.stderr);
        return (r.status !== 0 && r.status !== null && Boolean(error)) || `exit ${r.status}${r.error ? ` (${r.error.code})` : ''}, no ::error:: line: ${tailOf(r.stdout + r.stderr)}`;
      },
    });
  }
  const total = opts.warmup + opts.runs;
  console.error(`[bench] start-up: ${subjects.length} subjects × (${opts.warmup} warm-up + ${opts.runs} runs), interleaved`);
  for (const s of subjects) s.samples = [];
  for (let i = 0; i < total; i++) {
    const order = subjects.map((_, k) => subjects[(k + i) % subjects.length]);
    for (const s of order) {
      if (s.failed) continue;
      const env = s.env(); // files are made fresh before the clock starts
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, s.args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 20_000 });
      const t = Number(process.hrtime.bigint() - t0) / 1e6;
      const ok = s.check(r);
      if (ok !== true) {
        s.failed = String(ok);
        continue;
      }
      if (i >= opts.warmup) s.samples.push(t);
    }
  }
  const bare = subjects[0];
  const bareMedian = median(bare.samples);
  const bareMin = Math.min(...bare.samples);
  const out = [];
  const rows = [];
  for (const s of subjects) {
    if (s.failed) {
      rows.push([s.name, 'failed', '', '', '', '', s.kind === 'kubeline' ? `≤ ${TARGET.startupMs} ms` : '—', 'INVALID']);
      out.push({ name: s.name, kind: s.kind, failed: s.failed });
      if (s.kind === 'peer') notes.push(`${s.name} not measured: ${s.failed}`);
      else problems.push(`start-up of ${s.name} could not be measured: ${s.failed}`);
      continue;
    }
    const st = summarize(s.samples);
    const above = st.median - bareMedian;
    const aboveP90 = st.p90 - bareMedian;
    const isTarget = s.kind === 'kubeline';
    const met = above <= TARGET.startupMs;
    if (isTarget && above > WIDE.startupMs) problems.push(`start-up of ${s.name} is ${above.toFixed(0)} ms above bare node, far over the ${TARGET.startupMs} ms target`);
    out.push({ name: s.name, kind: s.kind, ...st, aboveBareMedian: round(above), aboveBareP90: round(aboveP90), aboveBareMin: round(st.min - bareMin), target: isTarget ? TARGET.startupMs : null, met: isTarget ? met : null, error: s.kind === 'peer' ? s.error : undefined });
    rows.push([
      s.name + (s.kind === 'peer' ? ' (peer)' : ''),
      ms(st.median),
      ms(st.p90),
      s.kind === 'bare' ? '—' : signedMs(above),
      s.kind === 'bare' ? '—' : signedMs(aboveP90),
      s.kind === 'bare' ? '—' : signedMs(st.min - bareMin),
      isTarget ? `≤ ${TARGET.startupMs} ms` : '—',
      isTarget ? (met ? 'met' : 'MISSED') : s.kind === 'bare' ? '(baseline)' : s.kind === 'peer' ? '(peer)' : '(reference)',
    ]);
  }
  console.log(`\n1. Start-up to the first input read (${opts.runs} runs each after ${opts.warmup} warm-up, interleaved; wall time spawn→exit)\n`);
  console.log(table(['subject', 'median', 'p90', 'above bare (median)', 'above bare (p90)', 'best vs best', 'target', 'verdict'], rows));
  const peers = availablePeers();
  if (!peers.length) {
    notes.push(
      `peers (docker/build-push-action, login-action, metadata-action) not measured: no copy in ${peersDir}. ` +
        'This machine cannot reach GitHub and no package registry ships their dist/; put each action (action.yml and dist/) ' +
        `at ${peersDir}/<owner>/<name>/ (never in this repository) to have them measured in the same loop.`,
    );
  } else {
    for (const p of peers) if (p.error) notes.push(`${p.repo} stopped with: ${p.error.slice(0, 160)}`);
  }
  console.log('  "above bare" = the subject\'s median (or p90) minus the median of `node -e 0` from the same loop; the verdict is on the');
  console.log('  median. "best vs best" = fastest run minus fastest bare run, a floor that load on the machine cannot inflate.');
  const load = os.loadavg()[0];
  if (load > os.cpus().length * 0.5) console.log(`  The 1-minute load average was ${load.toFixed(2)} on ${os.cpus().length} CPUs: other work ran alongside, so medians and p90 are inflated.`);
  return { bareMedian: round(bareMedian), subjects: out };
}

/** process.env without anything the runner would set, so no stray INPUT_* leaks in. */
function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(INPUT_|GITHUB_|STATE_|RUNNER_)/.test(k)) env[k] = v;
  return env;
}

/** The runner's protocol, as packages/runner does it: files, event, INPUT_* from action.yml. */
function protocolEnv(action, inputs, overrides) {
  const dir = join(work, `startup-${action.replace(/\W/g, '_')}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'runner-temp'), { recursive: true });
  const files = { GITHUB_OUTPUT: 'output', GITHUB_STEP_SUMMARY: 'summary.md', GITHUB_ENV: 'env', GITHUB_STATE: 'state', GITHUB_PATH: 'path' };
  const env = cleanEnv();
  for (const [k, f] of Object.entries(files)) {
    env[k] = join(dir, f);
    writeFileSync(env[k], '');
  }
  const sha = 'a'.repeat(40);
  writeFileSync(join(dir, 'event.json'), JSON.stringify({ ref: 'refs/heads/main', after: sha, head_commit: { id: sha, timestamp: '2026-01-01T00:00:00Z' }, repository: { full_name: 'local/main', default_branch: 'main' } }));
  Object.assign(env, {
    GITHUB_EVENT_PATH: join(dir, 'event.json'),
    GITHUB_EVENT_NAME: 'push',
    GITHUB_SHA: sha,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REPOSITORY: 'local/main',
    GITHUB_WORKSPACE: root,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '1',
    GITHUB_ACTION: action,
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: join(dir, 'runner-temp'),
    // Any docker call before the input read would fail on this and show in the check.
    DOCKER_HOST: `unix://${join(dir, 'no-docker-here.sock')}`,
  });
  for (const [name, spec] of Object.entries(inputs)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(spec?.default ?? '');
  for (const [name, value] of Object.entries(overrides)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  return env;
}

/** bench/floor-action.mjs bundled like the actions, cached by the hash of its inputs. */
function floorBundle() {
  const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
  const source = join(root, 'bench', 'floor-action.mjs');
  const corePkg = join(root, 'node_modules', '@actions', 'core', 'package.json');
  if (!existsSync(ncc) || !existsSync(corePkg)) {
    notes.push('floor reference skipped: @vercel/ncc or @actions/core is not installed (npm ci).');
    return undefined;
  }
  const key = createHash('sha256')
    .update(readFileSync(source))
    .update(readFileSync(corePkg))
    .update(readFileSync(join(root, 'node_modules', '@vercel', 'ncc', 'package.json')))
    .digest('hex')
    .slice(0, 12);
  const out = join(cacheRoot, 'bench', `floor-${key}`);
  const file = join(out, 'index.mjs');
  if (!existsSync(file)) {
    console.error('[bench] bundling the floor reference with ncc (once; cached)');
    const tmp = `${out}.tmp-${process.pid}`;
    const r = spawnSync(process.execPath, [ncc, 'build', source, '-o', tmp, '--minify', '--no-source-map-register', '--quiet'], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0 || !existsSync(join(tmp, 'index.mjs'))) {
      notes.push(`floor reference skipped: ncc failed: ${tailOf(r.stderr)}`);
      rmSync(tmp, { recursive: true, force: true });
      return undefined;
    }
    writeFileSync(join(tmp, 'package.json'), '{ "type": "module" }\n');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(dirname(out), { recursive: true });
    execFileSync('mv', [tmp, out]);
  }
  return file;
}

/** bench/floor-action.mjs bundled as the actions are (scripts/bundle.mjs), cached by the hash of its inputs. */
async function floorBundleEsbuild() {
  const source = join(root, 'bench', 'floor-action.mjs');
  const key = createHash('sha256')
    .update(readFileSync(source))
    .update(readFileSync(join(root, 'scripts', 'bundle.mjs')))
    .update(readFileSync(join(root, 'package-lock.json')))
    .digest('hex')
    .slice(0, 12);
  const out = join(cacheRoot, 'bench', `floor-esbuild-${key}`);
  const file = join(out, 'index.js');
  if (!existsSync(file)) {
    console.error('[bench] bundling the floor reference with scripts/bundle.mjs (once; cached)');
    const tmp = `${out}.tmp-${process.pid}`;
    try {
      const { bundleAction } = await import(pathToFileURL(join(root, 'scripts', 'bundle.mjs')).href);
      await bundleAction({ root, entry: relative(root, source), outdir: tmp, licenses: false });
    } catch (err) {
      notes.push(`floor reference (esbuild) skipped: ${err.message}`);
      rmSync(tmp, { recursive: true, force: true });
      return undefined;
    }
    rmSync(out, { recursive: true, force: true });
    mkdirSync(dirname(out), { recursive: true });
    execFileSync('mv', [tmp, out]);
  }
  return file;
}

function availablePeers() {
  if (peersCache) return peersCache;
  peersCache = [];
  for (const p of PEERS) {
    const dir = join(peersDir, ...p.repo.split('/'));
    const yml = ['action.yml', 'action.yaml'].map((f) => join(dir, f)).find(existsSync);
    if (!yml) continue;
    try {
      const manifest = parseYaml(readFileSync(yml, 'utf8'));
      const main = resolve(dir, manifest.runs.main);
      if (!existsSync(main)) continue;
      peersCache.push({ ...p, dir, main, inputs: manifest.inputs ?? {}, using: manifest.runs.using });
    } catch (err) {
      notes.push(`peer ${p.repo} at ${dir} unreadable: ${err.message}`);
    }
  }
  return peersCache;
}

function tailOf(text, n = 200) {
  const t = String(text ?? '').trim().split('\n').slice(-3).join(' | ');
  return t.length > n ? '…' + t.slice(-n) : t;
}

// ── 3. pipeline ─────────────────────────────────────────────────────────────


async function pipeline() {
  const reg = process.env.KUBELINE_REGISTRY;
  const user = process.env.KUBELINE_REGISTRY_USER;
  const password = process.env.KUBELINE_REGISTRY_PASSWORD;
  if (!reg || !user || !password) {
    notes.push('pipeline skipped: no test bed (KUBELINE_REGISTRY…): run `eval "$(scripts/testbed env)"` or `scripts/testbed up`.');
    return { skipped: true };
  }
  const ping = await run('docker', ['version', '--format', '{{.Server.Version}}']);
  if (ping.code !== 0) {
    problems.push(`pipeline: the Docker engine does not answer (${tailOf(ping.stderr)})`);
    return { skipped: true };
  }
  // What node_modules/.bin/kubeline links to, taken from this checkout (the link may point elsewhere).
  const kubelineBin = join(root, 'packages', 'runner', 'bin', 'kubeline.js');
  const kubeline = (args, o) => run(process.execPath, [kubelineBin, ...args], o);
  const id = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const ns = `${reg}/kubeline-bench/${id}`;
  const testCommand = 'python3 -m pytest --junitxml=/reports/junit.xml';
  const env = { ...cleanEnv(), PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}` };
  const rawEnv = { ...env, DOCKER_BUILDKIT: '1' };
  const localTags = new Set();
  const changedImages = new Set(); // image IDs built from a changed source (scenario B): ours alone, removed at the end
  let containerSeq = 0;
  const manifests = Object.fromEntries(STAGES.map((a) => [a, parseYaml(readFileSync(join(root, 'actions', a, 'action.yml'), 'utf8'))]));

  // The commit as the local runner reads it (packages/runner gitFacts), read once: the GitHub-protocol
  // variant gets it as GITHUB_SHA / GITHUB_REF and a push payload, so both kubeline variants tag alike.
  const gitOut = (a) => spawnSync('git', a, { cwd: root, encoding: 'utf8' }).stdout?.trim() || '';
  const commit = {
    sha: gitOut(['rev-parse', 'HEAD']) || '0'.repeat(40),
    branch: gitOut(['symbolic-ref', '--short', 'HEAD']) || 'main',
    timestamp: gitOut(['log', '-1', '--format=%cI']) || new Date().toISOString(),
    repository: `local/${basename(gitOut(['rev-parse', '--show-toplevel']) || root)}`,
  };
  const eventPath = join(work, 'event.json');
  writeFileSync(
    eventPath,
    JSON.stringify({
      ref: `refs/heads/${commit.branch}`,
      before: '0'.repeat(40),
      after: commit.sha,
      created: false,
      deleted: false,
      forced: false,
      head_commit: { id: commit.sha, timestamp: commit.timestamp, message: 'bench' },
      pusher: { name: 'kubeline-bench' },
      repository: { full_name: commit.repository, name: commit.repository.split('/')[1], owner: { login: 'local' }, default_branch: commit.branch },
    }),
  );

  // Scenario B's source: a copy of examples/demo in the bench's temp folder (examples/demo is never written).
  const changeContext = join(work, 'change', 'demo');
  cpSync(join(root, 'examples', 'demo'), changeContext, { recursive: true });
  const changedFile = join(changeContext, 'demo', 'core.py');
  const changedOriginal = readFileSync(changedFile, 'utf8');
  /** A new source for the next build: one comment line with a fresh token (same size every time). */
  const changeSource = () => {
    const token = randomBytes(8).toString('hex');
    writeFileSync(changedFile, `${changedOriginal}\n# kubeline bench change ${token}\n`);
    return token;
  };

  const must = (step, r) => {
    if (r.code !== 0) throw new Error(`${step} failed (exit ${r.code}): ${tailOf(r.stderr || r.stdout, 600)}`);
    return r;
  };
  const kubelineJson = (step, r) => {
    let doc;
    try {
      doc = JSON.parse(r.stdout);
    } catch {
      throw new Error(`kubeline run ${step}: no JSON result (exit ${r.code}): ${tailOf(r.stderr, 600)}`);
    }
    if (doc.conclusion !== 'success') throw new Error(`kubeline run ${step}: ${doc.conclusion}: ${tailOf(doc.summary + '\n' + r.stderr, 600)}`);
    return doc;
  };
  const pushInputs = (repo) => ({ images: repo, tags: 'type=sha\ntype=ref,event=branch\ntype=raw,value=demo', username: user, password });
  const summaries = (testSummary, pushSummary) => {
    const testSteps = /\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*$/m.exec(testSummary);
    const pushSteps = /(\d+) steps from cache, (\d+) run/.exec(pushSummary);
    return {
      testStage: testSteps ? { fromCache: Number(testSteps[1]), run: Number(testSteps[2]) } : null,
      push: pushSteps ? { fromCache: Number(pushSteps[1]), run: Number(pushSteps[2]) } : null,
    };
  };

  // ── variant "gh": the bundles started as the GitHub runner starts them ──
  // One job = build-test-image (main), run-tests (main), push-image (main), then the post steps in
  // reverse order (push-image, run-tests), as the runner runs them at the end of the job. Each step
  // gets fresh GITHUB_OUTPUT / STEP_SUMMARY / STATE / ENV / PATH files (made before the clock starts),
  // INPUT_* for every input of action.yml (its default unless given), and the job's environment; a
  // post step gets the same inputs plus STATE_<name> from its main step's GITHUB_STATE file.
  // GITHUB_ENV / GITHUB_PATH written by a step apply to the later steps, as on the runner.
  async function ghRound(repo, context, extraEnv = {}) {
    const testImage = `kubeline-bench/${id}-gh-test:latest`;
    const job = mkdtempSync(join(work, 'job-'));
    mkdirSync(join(job, 'temp'));
    mkdirSync(join(job, 'tool-cache'));
    const jobEnv = {
      ...env,
      ...extraEnv,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_SHA: commit.sha,
      GITHUB_REF: `refs/heads/${commit.branch}`,
      GITHUB_REF_NAME: commit.branch,
      GITHUB_REF_TYPE: 'branch',
      GITHUB_BASE_REF: '',
      GITHUB_HEAD_REF: '',
      GITHUB_REPOSITORY: commit.repository,
      GITHUB_REPOSITORY_OWNER: commit.repository.split('/')[0],
      GITHUB_WORKSPACE: root,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_API_URL: 'https://api.github.com',
      GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
      GITHUB_RUN_ID: String(Date.now() % 1_000_000_000),
      GITHUB_RUN_NUMBER: '1',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_JOB: 'pipeline',
      GITHUB_WORKFLOW: 'kubeline-bench',
      GITHUB_ACTOR: 'kubeline-bench',
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: os.arch() === 'arm64' ? 'ARM64' : 'X64',
      RUNNER_NAME: 'kubeline-bench',
      RUNNER_ENVIRONMENT: 'self-hosted',
      RUNNER_TEMP: join(job, 'temp'),
      RUNNER_TOOL_CACHE: join(job, 'tool-cache'),
    };
    const plan = [
      ['build-test-image', 'main'],
      ['run-tests', 'main'],
      ['push-image', 'main'],
      ['push-image', 'post'],
      ['run-tests', 'post'],
    ].filter(([a, phase]) => phase === 'main' || manifests[a].runs.post);
    const files = plan.map(([a, phase], k) => {
      const dir = join(job, `${k + 1}-${a}-${phase}`);
      mkdirSync(dir);
      const f = { GITHUB_OUTPUT: 'output', GITHUB_STEP_SUMMARY: 'summary.md', GITHUB_STATE: 'state', GITHUB_ENV: 'env', GITHUB_PATH: 'path' };
      for (const k2 of Object.keys(f)) writeFileSync((f[k2] = join(dir, f[k2])), '');
      return f;
    });
    const inputsOf = {};
    const stateOf = {};
    const stepOut = {};
    const steps = [];
    const t0 = process.hrtime.bigint();
    for (const [k, [action, phase]] of plan.entries()) {
      const manifest = manifests[action];
      if (phase === 'main') {
        if (action === 'build-test-image') inputsOf[action] = { context, image: testImage };
        if (action === 'run-tests') inputsOf[action] = { image: stepOut['build-test-image'].outputs.image, run: testCommand, results: '/reports', 'source-dir': context };
        if (action === 'push-image') inputsOf[action] = { context, ...pushInputs(repo) };
      }
      const stepEnv = { ...jobEnv, ...files[k], GITHUB_ACTION: `${action}${phase === 'post' ? '_post' : ''}` };
      for (const [name, spec] of Object.entries(manifest.inputs ?? {})) stepEnv[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(inputsOf[action][name] ?? spec?.default ?? '');
      if (phase === 'post') for (const [name, value] of Object.entries(stateOf[action] ?? {})) stepEnv[`STATE_${name}`] = value;
      const script = resolve(root, 'actions', action, phase === 'main' ? manifest.runs.main : manifest.runs.post);
      const start = epochNow();
      const r = await run(process.execPath, [script], { cwd: root, env: stepEnv });
      steps.push({ action, phase, ms: r.ms, start, end: epochNow(), code: r.code });
      const outputs = parseFileCommands(readFileSync(files[k].GITHUB_OUTPUT, 'utf8'));
      if (phase === 'main') stateOf[action] = parseFileCommands(readFileSync(files[k].GITHUB_STATE, 'utf8'));
      // The runner carries GITHUB_ENV and GITHUB_PATH over to the later steps.
      Object.assign(jobEnv, parseFileCommands(readFileSync(files[k].GITHUB_ENV, 'utf8')));
      const added = readFileSync(files[k].GITHUB_PATH, 'utf8').split('\n').filter(Boolean);
      if (added.length) jobEnv.PATH = [...added.reverse(), jobEnv.PATH].join(':');
      if (r.code !== 0) {
        const error = /::error::(.*)/.exec(r.stdout)?.[1];
        throw new Error(`${action} (${phase}, as on GitHub) failed (exit ${r.code}): ${error ?? (r.stderr.trim().split('\n').find((l) => /Error/.test(l)) ?? '') + ' … ' + tailOf(r.stdout + r.stderr, 400)}`);
      }
      if (phase === 'main') stepOut[action] = { outputs, log: r.stdout + r.stderr, summary: readFileSync(files[k].GITHUB_STEP_SUMMARY, 'utf8') };
    }
    const total = Number(process.hrtime.bigint() - t0) / 1e6;
    const stageMs = (a) => steps.filter((s) => s.action === a).reduce((x, s) => x + s.ms, 0);
    const b = stepOut['build-test-image'];
    const t = stepOut['run-tests'];
    const p = stepOut['push-image'];
    localTags.add(testImage);
    const tags = p.outputs.tags.split('\n').filter(Boolean);
    for (const tag of tags) localTags.add(tag);
    return {
      ms: { 'build-test-image': stageMs('build-test-image'), 'run-tests': stageMs('run-tests'), 'push-image': stageMs('push-image'), total },
      stepMs: Object.fromEntries(steps.map((s) => [`${s.action}/${s.phase}`, s.ms])),
      steps,
      tests: { passed: Number(t.outputs.passed), failed: Number(t.outputs.failed) },
      tagNames: tags.map((r) => r.slice(r.lastIndexOf(':') + 1)),
      digest: p.outputs.digest,
      imageIds: [b.outputs['image-id'], p.outputs['image-id']],
      summaries: summaries(b.summary, p.summary),
      builds: [buildkitSteps(b.log), buildkitSteps(p.log)],
      push: pushLayers(p.log),
    };
  }

  // ── variant "cli": `kubeline run`, the local runner (its CLI, git look-ups, then the same bundles) ──
  async function cliRound(repo, context, extraEnv = {}) {
    const testImage = `kubeline-bench/${id}-cli-test:latest`;
    const e = { ...env, ...extraEnv };
    const steps = [];
    const step = async (action, args) => {
      const start = epochNow();
      const r = await kubeline(['run', action, ...args, '--json'], { cwd: root, env: e });
      steps.push({ action, phase: 'cli', ms: r.ms, start, end: epochNow(), code: r.code });
      return r;
    };
    const t0 = process.hrtime.bigint();
    const b = await step('build-test-image', ['--context', context, '--image', testImage]);
    const built = kubelineJson('build-test-image', b);
    const t = await step('run-tests', ['--image', built.outputs.image, '--run', testCommand, '--results', '/reports', '--source-dir', context]);
    const tested = kubelineJson('run-tests', t);
    const p = await step('push-image', ['--context', context, '--repositories', repo, '--tags', 'type=sha', '--tags', 'type=ref,event=branch', '--tags', 'type=raw,value=demo', '--username', user, '--secret-env', 'password=KUBELINE_REGISTRY_PASSWORD']);
    const pushed = kubelineJson('push-image', p);
    const total = Number(process.hrtime.bigint() - t0) / 1e6;
    localTags.add(testImage);
    const tags = pushed.outputs.tags.split('\n').filter(Boolean);
    for (const tag of tags) localTags.add(tag);
    return {
      ms: { 'build-test-image': b.ms, 'run-tests': t.ms, 'push-image': p.ms, total },
      steps,
      tests: { passed: Number(tested.outputs.passed), failed: Number(tested.outputs.failed) },
      tagNames: tags.map((r) => r.slice(r.lastIndexOf(':') + 1)),
      digest: pushed.outputs.digest,
      imageIds: [built.outputs['image-id'], pushed.outputs['image-id']],
      summaries: summaries(built.summary, pushed.summary),
      builds: [buildkitSteps(b.stderr), buildkitSteps(p.stderr)],
      push: pushLayers(p.stderr),
    };
  }

  // ── variant "raw": the same work typed by hand; every docker call is timed by the bench itself ──
  async function rawRound(repo, context, tagNames) {
    const testImage = `kubeline-bench/${id}-raw-test:latest`;
    const container = `kubeline-bench-${id}-${++containerSeq}`;
    const reports = join(work, `reports-${containerSeq}`);
    const config = mkdtempSync(join(work, 'docker-config-'));
    const refs = tagNames.map((t) => `${repo}:${t}`);
    const calls = [];
    const docker = async (stage, what, args, o = {}) => {
      const start = epochNow();
      const r = must(what, await run('docker', args, { cwd: root, env: rawEnv, ...o }));
      calls.push({ stage, what, start, end: epochNow(), ms: r.ms });
      return r;
    };
    const t0 = process.hrtime.bigint();
    const b = await docker('build-test-image', 'docker build', ['build', '--target', 'test', '-t', testImage, context]);
    const t1 = process.hrtime.bigint();
    try {
      await docker('run-tests', 'docker run', ['run', '--name', container, testImage, ...testCommand.split(' ')]);
      await docker('run-tests', 'docker cp', ['cp', `${container}:/reports`, reports]);
    } finally {
      await docker('run-tests', 'docker rm', ['rm', container]);
    }
    const t2 = process.hrtime.bigint();
    const f = await docker('push-image', 'docker build', ['build', ...refs.flatMap((r) => ['-t', r]), context]);
    const authEnv = { ...rawEnv, DOCKER_CONFIG: config };
    await docker('push-image', 'docker login', ['login', '--username', user, '--password-stdin', reg], { env: authEnv, input: password });
    let pushLog = '';
    let digest;
    for (const ref of refs) {
      const p = await docker('push-image', 'docker push', ['push', ref], { env: authEnv });
      pushLog += p.stdout + p.stderr;
      digest ??= /digest: (sha256:[0-9a-f]{64})/.exec(p.stdout)?.[1];
    }
    await docker('push-image', 'docker logout', ['logout', reg], { env: authEnv });
    const t3 = process.hrtime.bigint();
    localTags.add(testImage);
    for (const r of refs) localTags.add(r);
    const junit = existsSync(join(reports, 'junit.xml')) ? readFileSync(join(reports, 'junit.xml'), 'utf8') : '';
    // Untimed: the image IDs, so that scenario B's images can be removed at the end.
    const ids = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', testImage, refs[0]], { env: rawEnv });
    const d = (a, z) => Number(z - a) / 1e6;
    return {
      ms: { 'build-test-image': d(t0, t1), 'run-tests': d(t1, t2), 'push-image': d(t2, t3), total: d(t0, t3) },
      calls,
      tests: { junit: Boolean(junit), failures: Number(/failures="(\d+)"/.exec(junit)?.[1] ?? NaN), passed: Number(/tests="(\d+)"/.exec(junit)?.[1] ?? NaN) },
      digest,
      imageIds: ids.stdout.split('\n').filter(Boolean),
      builds: [buildkitSteps(b.stdout + b.stderr), buildkitSteps(f.stdout + f.stderr)],
      push: pushLayers(pushLog),
    };
  }

  const scenarios = [];
  const out = { id, repositoryPrefix: ns, rounds: opts.rounds, tracedRounds: opts.traced, commit, scenarios };
  try {
    const a = { name: 'A', title: 'no change: the same source and repository as the warm-up round (a CI rerun of the same commit)', context: 'examples/demo' };
    const b = { name: 'B', title: 'a real change: before every run one source file of the app gets a new line (temp copy of examples/demo)', context: changeContext };
    scenarios.push(a, b);
    let tagNames;
    const once = async (s, v, i, extraEnv) => {
      if (s.name === 'B') s.tokens.push(changeSource());
      const repo = `${ns}-${s.name.toLowerCase()}-${v}`;
      const load = os.loadavg()[0];
      const r = v === 'raw' ? await rawRound(repo, s.context, tagNames) : v === 'gh' ? await ghRound(repo, s.context, extraEnv) : await cliRound(repo, s.context, extraEnv);
      r.round = i;
      r.load1 = round(load, 2);
      if (s.name === 'B') for (const x of r.imageIds ?? []) changedImages.add(x);
      return r;
    };
    for (const s of scenarios) {
      s.tokens = [];
      for (const v of VARIANTS) s[v] = [];
      // Warm-up (untimed): fills the build cache for this context and creates each variant's repository.
      console.error(`[bench] pipeline: scenario ${s.name}, warm-up round (untimed)`);
      const warm = await once(s, 'gh', 0);
      tagNames ??= warm.tagNames;
      await once(s, 'cli', 0);
      await once(s, 'raw', 0);
      for (let i = 1; i <= opts.rounds; i++) {
        const order = ORDERS[(i - 1) % ORDERS.length];
        console.error(`[bench] pipeline: scenario ${s.name}, round ${i}/${opts.rounds} (${order.join(', ')})`);
        for (const v of order) s[v].push(await once(s, v, i));
      }
    }
    for (const s of scenarios) report(s, tagNames);

    // Traced rounds, outside the comparison: the kubeline processes load bench/trace-hook.mjs
    // (NODE_OPTIONS=--import) that logs their start, every child process and every fetch.
    const hook = pathToFileURL(join(root, 'bench', 'trace-hook.mjs')).href;
    out.unitCosts = await unitCosts(`${ns}-a-raw:${tagNames[0]}`, `kubeline-bench/${id}-gh-test:latest`, reg, user, password, rawEnv);
    const traced = {};
    for (const s of scenarios) {
      traced[s.name] = { raw: [], gh: [], cli: [] };
      for (let i = 1; i <= opts.traced; i++) {
        const order = ORDERS[(i - 1) % ORDERS.length];
        console.error(`[bench] pipeline: scenario ${s.name}, traced round ${i}/${opts.traced}`);
        for (const v of order) {
          const file = join(work, `trace-${s.name}-${v}-${i}.jsonl`);
          const extraEnv = { NODE_OPTIONS: `${env.NODE_OPTIONS ? env.NODE_OPTIONS + ' ' : ''}--import=${hook}`, KUBELINE_BENCH_TRACE_FILE: file };
          const r = await once(s, v, `t${i}`, extraEnv);
          traced[s.name][v].push(analyse(v, r, readJsonLines(file)));
        }
      }
    }
    out.traced = attribution(traced);
    printUnitCosts(out.unitCosts, results.startup);
  } catch (err) {
    problems.push(`pipeline: ${err.message}`);
    out.error = err.message;
    console.error(err);
  } finally {
    // Untag what we tagged; remove the images built from scenario B's changed sources (nobody else has
    // them); scenario A's images and the build cache stay for everyone. The registry keeps the repositories.
    const rmi = await run('docker', ['rmi', ...localTags], { env });
    if (rmi.code !== 0) notes.push(`some local tags were not removed: ${tailOf(rmi.stderr)}`);
    if (changedImages.size) {
      // Most went with their last tag just above; the rest are the ones a later round's tag moved off.
      const rmiB = await run('docker', ['rmi', ...changedImages], { env });
      const left = rmiB.stderr.split('\n').filter((l) => l.trim() && !/No such image/.test(l));
      if (left.length) notes.push(`some of scenario B's images were not removed: ${tailOf(left.join('\n'))}`);
    }
    await run('docker', ['rm', '-f', ...Array.from({ length: containerSeq }, (_, k) => `kubeline-bench-${id}-${k + 1}`)], { env });
    notes.push(`the pipeline pushed to ${ns}-* in the test bed's registry (repositories are left there) and removed its local tags and scenario B's images.`);
  }
  return out;
}

/**
 * Unit costs, measured alone (10 runs each, median): one start of the docker CLI for each call the
 * actions make beyond the raw commands, and one registry request as push-image makes them.
 */
async function unitCosts(pushedRef, testImage, reg, user, password, env) {
  const subjects = [
    ['docker version (server)', ['version', '--format', '{{.Server.Version}}']],
    ['docker buildx version', ['buildx', 'version']],
    ['docker image inspect', ['image', 'inspect', '--format', '{{json .}}', testImage]],
  ];
  const out = {};
  const samples = Object.fromEntries(subjects.map(([k]) => [k, []]));
  const config = mkdtempSync(join(work, 'unit-config-'));
  for (let i = 0; i < 11; i++) {
    for (const [k, args] of subjects) {
      const r = await run('docker', args, { env: { ...env, DOCKER_CONFIG: config } });
      if (i > 0) samples[k].push(r.ms);
      out[k] = { exit: r.code };
    }
  }
  for (const [k] of subjects) Object.assign(out[k], summarize(samples[k]));
  // Registry requests from this (warm) process: GET /v2/ and HEAD of a manifest, with basic auth.
  const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const slash = pushedRef.indexOf('/');
  const colon = pushedRef.lastIndexOf(':');
  const http = [
    ['registry GET /v2/', `http://${reg}/v2/`, 'GET'],
    ['registry HEAD manifest', `http://${reg}/v2/${pushedRef.slice(slash + 1, colon)}/manifests/${pushedRef.slice(colon + 1)}`, 'HEAD'],
  ];
  for (const [k, url, method] of http) {
    const xs = [];
    let status;
    for (let i = 0; i < 11; i++) {
      const t = performance.now();
      try {
        const r = await fetch(url, { method, headers: { authorization: auth, accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
        await r.body?.cancel();
        status = r.status;
      } catch (err) {
        status = String(err?.cause?.code ?? err);
      }
      if (i > 0) xs.push(performance.now() - t);
    }
    out[k] = { status, ...summarize(xs) };
  }
  // The first fetch() in a fresh node process (loads Node's HTTP client): node -e with one request.
  const firstFetch = [];
  for (let i = 0; i < 6; i++) {
    const r = spawnSync(process.execPath, ['-e', `const t=performance.now();fetch(${JSON.stringify(http[0][1])},{headers:{authorization:${JSON.stringify(auth)}}}).then(async r=>{await r.body?.cancel();console.log(performance.now()-t)})`], { encoding: 'utf8' });
    if (i > 0 && r.status === 0) firstFetch.push(Number(r.stdout.trim()));
  }
  out['first fetch in a fresh node process'] = summarize(firstFetch);
  return out;
}

/** Tables and assertions for one pipeline scenario; fills s.result. */
function report(s, tagNames) {
  const stages = [...STAGES, 'total'];
  const pick = (variant, stage) => s[variant].map((r) => r.ms[stage]);
  const rows = [];
  const stats = {};
  for (const stage of stages) {
    const raw = pick('raw', stage);
    const mr = median(raw);
    stats[stage] = { raw: summarize(raw) };
    const isTotal = stage === 'total';
    rows.push([isTotal ? 'whole pipeline' : stage, VARIANT_LABEL.raw, sec(mr), sec(Math.min(...raw)), '', '', '', '', '']);
    for (const v of ['gh', 'cli']) {
      const k = pick(v, stage);
      const mk = median(k);
      const paired = median(k.map((x, i) => x - raw[i]));
      stats[stage][v] = { ...summarize(k), overheadMs: round(mk - mr), overheadPct: round(((mk - mr) / mr) * 100, 2), pairedMedianMs: round(paired), bestVsBestMs: round(Math.min(...k) - Math.min(...raw)) };
      const target = isTotal && v === 'gh';
      rows.push([
        '',
        VARIANT_LABEL[v],
        sec(mk),
        sec(Math.min(...k)),
        signedMs(mk - mr),
        pct(stats[stage][v].overheadPct),
        signedMs(paired),
        target ? '≤ 5 %' : '—',
        target ? (stats[stage][v].overheadPct <= TARGET.overheadPct ? 'met' : 'MISSED') : v === 'cli' && isTotal ? '(reference)' : '',
      ]);
    }
  }
  const total = stats.total.gh;
  if (total.overheadPct > WIDE.overheadPct) problems.push(`pipeline scenario ${s.name}: overhead as GitHub runs it ${total.overheadPct} % is far over the 5 % target`);

  // What each variant did, over the timed rounds.
  const checks = [];
  const did = {};
  for (const v of VARIANTS) {
    const steps = s[v].flatMap((r) => r.builds.flatMap((b) => b.steps));
    const ran = [...new Set(s[v].flatMap((r) => r.builds.flatMap((b) => b.ran)))];
    const layers = s[v].map((r) => r.push).reduce(addCounts, {});
    const digests = [...new Set(s[v].map((r) => r.digest))];
    did[v] = { buildSteps: steps.length, cached: steps.filter((x) => x.state === 'CACHED').length, ran, layers, digests };
  }
  const testsOk = ['gh', 'cli'].every((v) => s[v].every((r) => r.tests.passed > 0 && r.tests.failed === 0)) && s.raw.every((r) => r.tests.junit && r.tests.failures === 0);
  checks.push({ what: 'tests passed in every round (all variants)', ok: testsOk });
  const kSummaries = ['gh', 'cli'].flatMap((v) => s[v].map((r) => r.summaries));
  const layerText = (l) => `${l.pushes} pushes, ${l.layers} layer lines: ${l.exists} already exist, ${l.mounted} mounted, ${l.pushed} pushed`;
  if (s.name === 'A') {
    for (const v of VARIANTS) {
      checks.push({ what: `no build step ran (BuildKit log: every step CACHED), ${v}`, ok: did[v].ran.length === 0 && did[v].buildSteps > 0, detail: `${did[v].cached}/${did[v].buildSteps} steps CACHED${did[v].ran.length ? `; ran: ${did[v].ran.join('; ')}` : ''}` });
    }
    checks.push({
      what: 'kubeline job summaries (both variants): "| N | 0 |" (build-test-image), "N steps from cache, 0 run" (push-image)',
      ok: kSummaries.every((x) => x.testStage && x.push && x.testStage.run === 0 && x.push.run === 0),
      detail: kSummaries.map((x) => `${x.testStage?.fromCache ?? '?'}/${x.testStage?.run ?? '?'}+${x.push?.fromCache ?? '?'}/${x.push?.run ?? '?'}`).join(' ') + ' (cache/run)',
    });
    for (const v of VARIANTS) {
      const l = did[v].layers;
      checks.push({ what: `no layer re-uploaded: every layer "Layer already exists", ${v}`, ok: l.layers > 0 && l.exists === l.layers && l.pushed === 0 && l.unknown === 0, detail: layerText(l) });
    }
    for (const v of ['gh', 'cli']) checks.push({ what: `same digest every round, ${v} (a rerun pushes the same image)`, ok: did[v].digests.length === 1, detail: did[v].digests.map((d) => d?.slice(0, 19)).join(', ') });
  } else {
    for (const v of VARIANTS) {
      const perRound = s[v].map((r) => r.builds[0].ran.some((x) => /COPY demo\//.test(x)) && r.builds[0].ran.some((x) => /RUN python3 -m compileall/.test(x)));
      checks.push({ what: `every round rebuilt the changed steps (COPY demo/, RUN compileall …), ${v}`, ok: perRound.every(Boolean), detail: `${perRound.filter(Boolean).length}/${perRound.length} rounds; steps run per round: ${s[v].map((r) => r.builds.reduce((n, b) => n + b.ran.length, 0)).join(' ')}` });
      const uploads = s[v].map((r) => r.push.pushed);
      checks.push({ what: `every round uploaded new layers ("Pushed"), ${v}`, ok: uploads.every((n) => n > 0), detail: `layers pushed per round: ${uploads.join(' ')}; ${layerText(did[v].layers)}` });
    }
    for (const v of ['gh', 'cli']) checks.push({ what: `a new digest every round, ${v}`, ok: did[v].digests.length === s[v].length, detail: `${did[v].digests.length} digests in ${s[v].length} rounds` });
  }
  for (const c of checks) if (!c.ok) problems.push(`pipeline scenario ${s.name}: ${c.what}: ${c.detail ?? 'failed'}`);

  console.log(`\n3${s.name === 'A' ? 'a' : 'b'}. Pipeline on examples/demo, scenario ${s.name} — ${s.title}`);
  console.log(`    context ${s.name === 'A' ? 'examples/demo' : '<temp copy of examples/demo>'}; ${s.raw.length} timed rounds per variant after one untimed warm-up, the three variants interleaved (all 6 orders);`);
  console.log(`    tags pushed by all three: ${tagNames.join(', ')}; "as GitHub runs it" includes both post steps. Overhead = kubeline median − raw median.\n`);
  console.log(table(['stage', 'variant', 'median', 'best', 'overhead', 'overhead %', 'paired Δ (median)', 'target', 'verdict'], rows));
  for (const v of VARIANTS) console.log(`    totals per round (s), ${VARIANT_LABEL[v]}: ${s[v].map((r) => (r.ms.total / 1000).toFixed(2)).join(' ')}`);
  const postRows = ['run-tests/post', 'push-image/post'].map((k) => `${k} ${ms(median(s.gh.map((r) => r.stepMs[k])))}`);
  console.log(`    post steps (as GitHub runs it, median): ${postRows.join(', ')}`);
  const loads = VARIANTS.flatMap((v) => s[v].map((r) => r.load1));
  console.log(`    1-min load average at the runs' starts: ${Math.min(...loads).toFixed(2)} to ${Math.max(...loads).toFixed(2)} (median ${median(loads).toFixed(2)}) on ${os.cpus().length} CPUs`);
  console.log('');
  console.log(table(['check', 'result', 'detail'], checks.map((c) => [c.what, c.ok ? 'yes' : 'NO', c.detail ?? ''])));
  s.result = { stats, checks, did, met: total.overheadPct <= TARGET.overheadPct };
  // Keep results.json readable: the per-round figures, not the logs.
  for (const v of VARIANTS) {
    s[v] = s[v].map((r) => ({
      round: r.round,
      load1: r.load1,
      ms: Object.fromEntries(Object.entries(r.ms).map(([k, x]) => [k, round(x)])),
      stepMs: r.stepMs && Object.fromEntries(Object.entries(r.stepMs).map(([k, x]) => [k, round(x)])),
      rawCalls: r.calls?.map((c) => `${c.stage}: ${c.what} ${round(c.ms)}`),
      digest: r.digest,
      push: r.push,
      builds: r.builds.map((b) => ({ cached: b.cached, ran: b.ran })),
      summaries: r.summaries,
      tests: r.tests,
    }));
  }
}

function readJsonLines(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** `docker build --progress=plain …` → `docker build`; `docker buildx version` and `docker image inspect` keep 3 words. */
function callName(argv) {
  const prog = basename(argv[0]);
  const words = argv.slice(1).filter((w) => !w.startsWith('-'));
  if (prog === 'docker') return `docker ${words[0]}${/^(buildx|image|network|container)$/.test(words[0]) ? ` ${words[1]}` : ''}`;
  if (prog === 'git') return `git ${words[0]}`;
  return prog;
}

/**
 * One traced run of one variant, cut into additive parts per stage (they sum to the stage's wall time):
 *   node start   spawn of each node process → the trace hook running (exec + node bootstrap), union;
 *   git          the local runner's git calls;
 *   docker       the docker calls the raw commands also make (matched by name and count, in order);
 *   extra docker the docker calls beyond those;
 *   HTTP         fetch() requests (registry), from start to response headers;
 *   rest         everything else: loading the bundle, action code, the runner's own work, exit.
 * Each part is the time it adds beyond the parts before it (overlaps are counted once).
 */
function analyse(variant, r, events) {
  const byStage = {};
  const stageOf = (t) => r.steps?.find((s) => t >= s.start && t <= s.end)?.action;
  if (variant === 'raw') {
    for (const stage of STAGES) {
      const calls = r.calls.filter((c) => c.stage === stage);
      byStage[stage] = { wall: r.ms[stage], calls: calls.map((c) => ({ what: c.what, ms: c.ms, start: c.start, end: c.end })), parts: { docker: unionMs(calls) }, procs: 0 };
      byStage[stage].parts.rest = r.ms[stage] - byStage[stage].parts.docker;
    }
    return { variant, ms: r.ms, byStage };
  }
  const procs = events.filter((e) => e.kind === 'process');
  const spawns = events.filter((e) => e.kind === 'spawn');
  const fetches = events.filter((e) => e.kind === 'fetch');
  // The spawn of each node process: the bench's own (its steps) or its parent's spawn event, the nearest before it.
  const nodeSpawns = [...(r.steps ?? []).map((s) => ({ start: s.start })), ...spawns.filter((e) => /node$/.test(basename(e.argv[0])) || e.argv[0] === process.execPath)];
  for (const stage of STAGES) {
    const steps = r.steps.filter((s) => s.action === stage);
    const wall = steps.reduce((x, s) => x + (s.end - s.start), 0);
    const inStage = (e) => stageOf(e.start ?? e.origin) === stage;
    const mine = procs.filter((p) => stageOf(p.origin) === stage);
    const boot = mine.map((p) => {
      const sp = nodeSpawns.filter((x) => x.start <= p.origin).reduce((best, x) => (!best || x.start > best.start ? x : best), undefined);
      return { start: sp?.start ?? p.origin, end: p.hook };
    });
    // From the hook to the process's first child process or request (or its exit): loading and
    // evaluating the bundle, reading inputs, preparing the first call.
    const load = mine.map((p) => {
      const own = events.filter((e) => e.pid === p.pid && (e.kind === 'spawn' || e.kind === 'fetch'));
      const exit = events.find((e) => e.pid === p.pid && e.kind === 'exit');
      const first = Math.min(...own.map((e) => e.start), exit?.t ?? Infinity);
      return { start: p.hook, end: Number.isFinite(first) ? first : p.hook };
    });
    const child = spawns.filter((e) => inStage(e) && !(/node$/.test(basename(e.argv[0])) || e.argv[0] === process.execPath));
    const git = child.filter((e) => basename(e.argv[0]) === 'git');
    const docker = child.filter((e) => basename(e.argv[0]) === 'docker').map((e) => ({ ...e, what: callName(e.argv), ms: e.end - e.start })).sort((x, y) => x.start - y.start);
    const http = fetches.filter(inStage).map((e) => ({ ...e, ms: e.end - e.start }));
    const other = child.filter((e) => !['git', 'docker'].includes(basename(e.argv[0])));
    byStage[stage] = { wall, procs: boot.length, boot, load, git, docker, http, other };
  }
  return { variant, ms: r.ms, byStage, steps: r.steps.map((s) => ({ action: s.action, phase: s.phase, ms: round(s.end - s.start) })) };
}

function attribution(traced) {
  const out = { decomposition: {}, extraCalls: {}, http: {} };
  const rows = [];
  const extraRows = [];
  const partNames = ['node start', 'load to 1st call', 'git', 'docker (as raw)', 'extra docker', 'HTTP', 'rest'];
  for (const [scenario, byVariant] of Object.entries(traced)) {
    for (const stage of [...STAGES, 'total']) {
      const perVariant = {};
      for (const v of VARIANTS) {
        const runs = byVariant[v].map((t) => {
          const stages = stage === 'total' ? STAGES : [stage];
          const parts = Object.fromEntries(partNames.map((p) => [p, 0]));
          let wall = 0;
          let procs = 0;
          const counts = { docker: 0, extra: 0, git: 0, http: 0 };
          const extra = [];
          for (const st of stages) {
            const x = t.byStage[st];
            wall += x.wall;
            procs += x.procs;
            if (v === 'raw') {
              parts['docker (as raw)'] += x.parts.docker;
              parts.rest += x.parts.rest;
              counts.docker += x.calls.length;
              continue;
            }
            // Match the raw commands of this stage (by name and count) against kubeline's calls, in order.
            const want = {};
            for (const c of byVariant.raw[0].byStage[st].calls) want[c.what] = (want[c.what] ?? 0) + 1;
            const essential = [];
            const beyond = [];
            for (const c of x.docker) (want[c.what]-- > 0 ? essential : beyond).push(c);
            const layers = [x.boot, x.load, x.git, essential, beyond, x.http];
            let acc = [];
            let prev = 0;
            for (const [k, layer] of layers.entries()) {
              acc = acc.concat(layer);
              const u = unionMs(acc);
              parts[partNames[k]] += u - prev;
              prev = u;
            }
            parts.rest += x.wall - prev;
            counts.docker += x.docker.length;
            counts.extra += beyond.length;
            counts.git += x.git.length;
            counts.http += x.http.length;
            for (const c of beyond) extra.push({ stage: st, what: c.what, ms: c.ms, start: c.start, end: c.end });
          }
          return { wall, procs, parts, counts, extra };
        });
        const med = (f) => median(runs.map(f));
        perVariant[v] = {
          wall: med((x) => x.wall),
          procs: med((x) => x.procs),
          counts: Object.fromEntries(Object.keys(runs[0].counts).map((k) => [k, med((x) => x.counts[k])])),
          parts: Object.fromEntries(partNames.map((p) => [p, med((x) => x.parts[p])])),
          extra: runs.map((x) => x.extra),
        };
      }
      out.decomposition[`${scenario}/${stage}`] = JSON.parse(JSON.stringify(perVariant, (k, x) => (typeof x === 'number' ? round(x) : k === 'extra' ? undefined : x)));
      for (const v of ['gh', 'cli']) {
        const p = perVariant[v].parts;
        const r = perVariant.raw.parts;
        const c = perVariant[v].counts;
        const n = (x, k) => (k ? `${signedMs(x)} ×${k}` : '—');
        rows.push([
          `${scenario}`,
          stage === 'total' ? 'whole pipeline' : stage,
          v === 'gh' ? 'as GitHub' : 'kubeline run',
          signedMs(perVariant[v].wall - perVariant.raw.wall),
          n(p['node start'], perVariant[v].procs),
          signedMs(p['load to 1st call']),
          n(p.git, c.git),
          n(p['extra docker'], c.extra),
          signedMs(p['docker (as raw)'] - r['docker (as raw)']),
          n(p.HTTP, c.http),
          signedMs(p.rest - r.rest),
        ]);
      }
      if (stage !== 'total') {
        // The extra docker calls of the GitHub-protocol variant, by name: count per run and time per call.
        const byName = {};
        for (const runExtra of perVariant.gh.extra) {
          for (const c of runExtra) (byName[c.what] ??= []).push(c);
        }
        const runs = perVariant.gh.extra.length;
        for (const [what, cs] of Object.entries(byName)) {
          out.extraCalls[`${scenario}/${stage}/${what}`] = { perRun: cs.length / runs, ms: cs.map((c) => round(c.ms)) };
          extraRows.push([scenario, stage, what, `${cs.length / runs}`, cs.map((c) => c.ms.toFixed(0)).join(' '), ms(median(cs.map((c) => c.ms)))]);
        }
        if (!Object.keys(byName).length) extraRows.push([scenario, stage, '(none)', '0', '', '']);
        // Wall time the extra calls cover (parallel calls counted once), per run.
        extraRows.push([scenario, stage, 'wall time they cover (union, per run)', '', perVariant.gh.extra.map((e) => unionMs(e).toFixed(0)).join(' '), ms(median(perVariant.gh.extra.map((e) => unionMs(e))))]);
      }
    }
    // Registry requests of push-image, as GitHub runs it.
    out.http[scenario] = byVariant.gh.map((t) => t.byStage['push-image'].http.map((h) => ({ method: h.method, path: h.url.replace(/^https?:\/\/[^/]+/, ''), status: h.status, ms: round(h.ms) })));
  }
  const n = Object.values(traced)[0].gh.length;
  console.log(`\n3c. Where kubeline's extra time goes — ${n} traced round(s) per variant and scenario, outside the comparison (medians)`);
  console.log('    The kubeline processes load bench/trace-hook.mjs (NODE_OPTIONS=--import), which logs each process start, child process');
  console.log('    and fetch(). Columns are additive parts of Δ wall = kubeline wall − raw wall (overlaps counted once):');
  console.log('      node start     spawn → the hook runs (exec + node bootstrap, before any bundle code), summed over the node processes;');
  console.log('      load→1st call  hook → the process\'s first child process or request, or its exit (load and evaluate the bundle,');
  console.log('                     read inputs; the trace hook itself adds ~1-3 ms here);');
  console.log('      git / extra docker  calls the raw commands do not make; docker Δ = the calls raw also makes, kubeline − raw;');
  console.log('      HTTP           fetch() to the registry, start → response headers; rest Δ = action code between calls, writing');
  console.log('                     outputs and summary, process exit, the runner\'s own work, minus raw\'s own gaps.');
  console.log('    Medians of few samples: docker Δ moves by ±50-250 ms between runs (docker run and builds with RUN steps vary that much).\n');
  console.log(
    table(['scen.', 'stage', 'variant', 'Δ wall', 'node start ×procs', 'load→1st call', 'git ×calls', 'extra docker ×calls', 'docker Δ', 'HTTP ×requests', 'rest Δ'], rows),
  );
  console.log('\n3d. docker CLI calls beyond the raw commands (as GitHub runs it), each call\'s measured time in the traced rounds\n');
  console.log(table(['scen.', 'action', 'call', 'per run', 'each (ms)', 'median'], extraRows));
  const httpRows = [];
  for (const [scenario, runs] of Object.entries(out.http)) {
    runs.forEach((reqs, i) => reqs.forEach((h, k) => httpRows.push([scenario, `${i + 1}`, `${k + 1}`, `${h.method} ${h.path.replace(/\/v2\/.*\/manifests\//, '/v2/<repo>/manifests/')}`, String(h.status), ms(h.ms)])));
  }
  console.log('\n3e. Registry requests of push-image (as GitHub runs it), in order, start → response headers\n');
  console.log(table(['scen.', 'run', '#', 'request', 'status', 'time'], httpRows));
  return out;
}

function printUnitCosts(u, startup) {
  const rows = Object.entries(u).map(([k, x]) => [k, ms(x.median), ms(x.min), ms(x.p90), x.exit !== undefined ? `exit ${x.exit}` : x.status !== undefined ? `HTTP ${x.status}` : '']);
  console.log('\n3f. Unit costs, measured alone (10 runs each after one warm-up; median, best, p90)\n');
  console.log(table(['call', 'median', 'best', 'p90', 'result'], rows));
  const bare = startup?.bareMedian;
  const acts = (startup?.subjects ?? []).filter((s) => s.kind === 'kubeline' && !s.failed);
  if (bare && acts.length) {
    console.log(`    one node process of an action (section 1): bare node ${ms(bare)} + bundle load to the first input read ${acts.map((s) => `${s.name} ${signedMs(s.aboveBareMedian)}`).join(', ')}`);
  }
}

// ── summary ─────────────────────────────────────────────────────────────────

function summary() {
  const rows = [];
  for (const s of results.startup?.subjects ?? []) {
    if (s.kind !== 'kubeline') continue;
    rows.push([`start-up ${s.name}`, s.failed ? 'failed' : `${signedMs(s.aboveBareMedian)} above bare (p90 ${signedMs(s.aboveBareP90)})`, `≤ ${TARGET.startupMs} ms`, s.failed ? 'INVALID' : s.met ? 'met' : 'MISSED']);
  }
  const peers = (results.startup?.subjects ?? []).filter((s) => s.kind === 'peer' && !s.failed);
  for (const p of peers) rows.push([`start-up ${p.name} (peer)`, `${signedMs(p.aboveBareMedian)} above bare (p90 ${signedMs(p.aboveBareP90)})`, '—', '']);
  for (const s of results.sizes ?? []) {
    if (s.name === 'cli') continue;
    const figure = s.missing ? 'missing' : s.peer || s.files === 1 ? bytes(s.allJsBytes) : `${bytes(s.allJsBytes)} in ${s.files} .js files (index.js ${bytes(s.bytes)})`;
    rows.push([`size ${s.name}`, figure, s.peer ? '—' : '≤ 1 MB', s.peer ? '' : s.missing ? 'MISSING' : s.met ? 'met' : 'MISSED']);
  }
  for (const s of results.pipeline?.scenarios ?? []) {
    if (!s.result) continue;
    const st = s.result.stats;
    const what = s.name === 'A' ? 'no change' : 'a real change';
    for (const v of ['gh', 'cli']) {
      const t = st.total[v];
      rows.push([
        `pipeline ${s.name} (${what}), ${v === 'gh' ? 'as GitHub runs it' : 'kubeline run'}`,
        `${pct(t.overheadPct)} (${signedMs(t.overheadMs)}: raw ${sec(st.total.raw.median)}, kubeline ${sec(t.median)})`,
        v === 'gh' ? '≤ 5 %' : '—',
        v === 'gh' ? (s.result.met ? 'met' : 'MISSED') : '(reference)',
      ]);
    }
    for (const stage of STAGES) {
      const t = st[stage].gh;
      rows.push([`  ${stage}, as GitHub runs it`, `${pct(t.overheadPct)} (${signedMs(t.overheadMs)}: raw ${sec(st[stage].raw.median)}, kubeline ${sec(t.median)})`, '—', '']);
    }
    const failed = s.result.checks.filter((c) => !c.ok);
    rows.push([`pipeline ${s.name} checks`, `${s.result.checks.length - failed.length}/${s.result.checks.length} hold`, 'all', failed.length ? 'FAILED' : 'met']);
    // Issue 12: what the pipeline's node processes cost beyond node's own start (3c, as GitHub runs it).
    const traced = results.pipeline.traced?.decomposition?.[`${s.name}/total`]?.gh;
    if (traced) {
      const load = traced.parts['load to 1st call'];
      rows.push([
        `pipeline ${s.name}: its ${traced.procs} node processes, as GitHub runs it (traced)`,
        `${Math.round(load)} ms from node's start to each one's first call, summed (node's own start: ${Math.round(traced.parts['node start'])} ms more)`,
        `≤ ${TARGET.pipelineNodeMs} ms`,
        load <= TARGET.pipelineNodeMs ? 'met' : 'MISSED',
      ]);
    }
  }
  const mf = results.manifests;
  for (const [key, r] of Object.entries(mf?.ratios ?? {})) {
    const [corpus, tool] = key.split('/');
    const kc = mf.subjects.find((x) => x.tool === 'kubeconform' && x.corpus === corpus);
    const ours = mf.subjects.find((x) => x.tool === tool && x.corpus === corpus);
    const like = tool === 'ours-off';
    rows.push([
      `manifests, ${corpus} corpus, ${like ? 'policies off' : 'default policies'}`,
      `${r.throughput.toFixed(2)}× kubeconform (${ours.objectsPerSecond.median.toLocaleString('en-US')} vs ${kc.objectsPerSecond.median.toLocaleString('en-US')} objects/s; CPU ${r.cpu}×)`,
      like ? '≥ 2×' : '—',
      like ? (r.met ? 'met' : 'MISSED') : '(reference)',
    ]);
  }
  for (const x of (mf?.subjects ?? []).filter((y) => y.peakRssMiB && y.tool !== 'ours-default')) {
    rows.push([`  peak RSS ${x.tool === 'kubeconform' ? 'kubeconform' : 'ours'}, ${x.corpus} corpus`, `${x.peakRssMiB.median} MiB (max ${x.peakRssMiB.max})`, '—', '']);
  }
  const dw = results.deployWait;
  if (dw?.latency) {
    const l = dw.latency.waitForAll;
    rows.push([
      'deploy wait: last workload available → done',
      `${Math.round(l.median)} ms median (p90 ${Math.round(l.p90)} ms; kubectl rollout status ${Math.round(dw.latency.kubectlRolloutStatus.median)} ms)`,
      `< ${DEPLOY_WAIT_TARGET.latencyMs} ms`,
      dw.latency.met ? 'met' : 'MISSED',
    ]);
  }
  for (const t of dw?.together ?? []) {
    rows.push([
      `deploy wait: N=${t.n} together`,
      `${sec(t.waitForAllMs)} (slowest ${sec(t.slowestMs)}, ${signedMs(t.overSlowestMs)}); kubectl × N in sequence ${sec(t.kubectlSequenceMs)} (slowest ${sec(t.kubectlSlowestMs)}, ${signedMs(t.kubectlOverSlowestMs)})`,
      '≈ slowest (< +250 ms)',
      t.met ? 'met' : 'MISSED',
    ]);
  }
  for (const p of results.deployApply?.phases ?? []) {
    const o = p.ours;
    const k = p.kubectl;
    rows.push([
      `deploy apply, 500 objects, ${p.label}`,
      o.runs && k.runs
        ? `ours ${Math.round(o.wallMs.median)} ms (p90 ${Math.round(o.wallMs.p90)}), ${o.requests.median} requests; kubectl ${Math.round(k.wallMs.median)} ms (p90 ${Math.round(k.wallMs.p90)}), ${k.requests.median} requests`
        : 'no valid run',
      '— (figures)',
      '',
    ]);
  }
  console.log('\nSummary\n');
  console.log(table(['measure', 'figure', 'target', 'verdict'], rows));
  console.log(`  load average 1/5/15 min: ${results.environment.loadBefore.join(' / ')} at start, ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')} at the end`);
  return rows.map(([measure, figure, target, verdict]) => ({ measure, figure, target, verdict }));
}
