#!/usr/bin/env node
// Benchmark of promote's GitOps mode (promoteByCommit, packages/gitops/src/promote.ts) — it reports,
// it is not a test. Alone: `node bench/gitops.mjs [--rounds N]` (it re-runs itself on
// node_modules/.bin/node when this Node is older than 24, the actions' runtime), or through the
// whole bench as section `gitops` (`npm run bench -- gitops`). Needs git (with git-http-backend)
// and nothing of the test bed.
//
// The repository: an environment repository made once per run in a temporary folder with
// `git fast-import` — --apps (default 36) apps, each with base/{kustomization,deployment,service}.yaml
// and {staging,production}/{kustomization,configmap,patch-replicas}.yaml, plus clusters/ and a
// README (332 files), and --history (default 120) commits, each bumping one overlay's digest. A bare
// repository (http.receivepack on), branch main. The file promoted: apps/app-07/production/
// kustomization.yaml, whose `images:` entry gets a new digest.
// The subjects, both promoting a fresh random digest (so both always commit), direct push to main:
//   ours:  promoteByCommit in this process, bundled from the TypeScript source with ncc as the
//          actions are (bench/lib.mjs importFromSource), from call to return (no node start-up: the
//          start-up section measures that). Its clone folder is removed before it returns.
//   shell: what people write by hand, spawned as one `sh -c`, spawn → exit:
//            git clone --depth 1 --branch main <url> <dir> && sed -i "s/digest: .*/digest: sha256:…/" <dir>/<file>
//            && git -C <dir> commit -am "promote …" && git -C <dir> push
//          (its folder is removed afterwards, untimed).
// Two transports, same repository: file:// and HTTP on 127.0.0.1 through `git http-backend` (a CGI
// behind node:http in a child process, so serving does not share promoteByCommit's event loop; Basic
// auth with a token: ours sends it as a header through the environment, the shell puts
// x-access-token:<token>@ in the URL, as people do). Loopback only.
// Rounds: one untimed warm-up round, then --rounds (default 7, at least 5) timed rounds; in each, the
// two transports and, within a transport, the two subjects alternate their order by round. After
// every run the bare repository is checked: its main moved by one commit onto the previous tip, that
// commit changes one line of the file, and the file at the tip holds the digest (for ours, the tip is
// the commit promoteByCommit returned). A failed check or a failed run is a problem (exit 1).
// Reported: median, p90, min–max of wall time; shell ÷ ours (no target is set for GitOps); HTTP
// requests per run (counted by the server); and, from one more untimed round with GIT_TRACE2_EVENT,
// the git processes each subject starts and their time (top-level only: git's own children — upload-
// pack, remote-http, index-pack — are inside their parent's time), the rest being outside git (for
// ours: node, @actions/exec, the YAML edit and its check; for the shell: sh and sed). Load average per round.
// Leaves nothing behind: the temporary folder and the server go at the end.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os, { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { forkedService, importFromSource, median, round, run, sourceHash, summarize, table, quietly } from './lib.mjs';

const epoch = () => performance.now();
const IMAGE = (app) => `registry.example.com/acme/${app}`;
const TARGET_APP = 'app-07';
const FILE = `apps/${TARGET_APP}/production/kustomization.yaml`;
const newDigest = () => `sha256:${randomBytes(32).toString('hex')}`;
const SEED_ENV = { LC_ALL: 'C', GIT_AUTHOR_NAME: 'seed', GIT_AUTHOR_EMAIL: 'seed@example.com', GIT_COMMITTER_NAME: 'seed', GIT_COMMITTER_EMAIL: 'seed@example.com' };

// ── the git server (a child process) ─────────────────────────────────────────────────────────────

/** git http-backend behind node:http on 127.0.0.1 (the JavaScript of test/support/git-http.ts), counting requests. */
async function gitHttpServer(projectRoot, token) {
  const backend = join(execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim(), 'git-http-backend');
  const counts = { requests: 0, unauthorized: 0 };
  const server = http.createServer((req, res) => {
    counts.requests++;
    const [user, password] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /i, ''), 'base64').toString().split(':');
    if (!/^Basic /i.test(req.headers.authorization ?? '') || password !== token) {
      counts.unauthorized++;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="kubeline bench git"', 'Content-Type': 'text/plain' }).end('unauthorized\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const env = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method,
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_USER: user || 'git',
      REMOTE_ADDR: '127.0.0.1',
    };
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
    const cgi = spawn(backend, [], { env });
    req.pipe(cgi.stdin);
    const out = [];
    cgi.stdout.on('data', (b) => out.push(b));
    cgi.stderr.resume();
    cgi.on('close', () => {
      const all = Buffer.concat(out);
      const crlf = all.indexOf('\r\n\r\n');
      const split = crlf >= 0 ? crlf : all.indexOf('\n\n');
      const sepLength = crlf >= 0 ? 4 : 2;
      const headers = {};
      let status = 200;
      for (const line of all.subarray(0, Math.max(split, 0)).toString().split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const [name, value] = [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers).end(split >= 0 ? all.subarray(split + sepLength) : all);
    });
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}`, counts };
}

/** The server in a process of its own; `counts()` asks it for its figures. */
async function serverProcess(projectRoot, token) {
  const s = await forkedService(fileURLToPath(import.meta.url), ['--git-http-server', projectRoot], 'url', { ...process.env, KUBELINE_BENCH_GIT_TOKEN: token });
  return { url: s.value, counts: s.counts, close: s.close };
}

// ── the environment repository ───────────────────────────────────────────────────────────────────

/** A small deterministic PRNG (mulberry32), so every run makes the same repository. */
function prng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function appFiles(app, digestOf) {
  const files = {};
  files[`apps/${app}/base/kustomization.yaml`] = `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n  - service.yaml\nlabels:\n  - pairs:\n      app.kubernetes.io/name: ${app}\n      app.kubernetes.io/part-of: acme\n    includeSelectors: true\n`;
  files[`apps/${app}/base/deployment.yaml`] =
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${app}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: ${app}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: ${app}\n    spec:\n      containers:\n        - name: ${app}\n          image: ${IMAGE(app)}\n          ports:\n            - containerPort: 8080\n          envFrom:\n            - configMapRef:\n                name: ${app}-config\n          readinessProbe:\n            httpGet:\n              path: /healthz\n              port: 8080\n          resources:\n            requests:\n              cpu: 50m\n              memory: 64Mi\n            limits:\n              memory: 256Mi\n`;
  files[`apps/${app}/base/service.yaml`] = `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${app}\nspec:\n  ports:\n    - port: 80\n      targetPort: 8080\n  selector:\n    app.kubernetes.io/name: ${app}\n`;
  for (const env of ['staging', 'production']) {
    files[`apps/${app}/${env}/kustomization.yaml`] =
      `# ${app} in ${env}: the digest is written by promote (kubeline)\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ${app}-${env}\nresources:\n  - ../base\n  - configmap.yaml\npatches:\n  - path: patch-replicas.yaml\nimages:\n  - name: ${IMAGE(app)}\n    digest: ${digestOf(app, env)}\n`;
    files[`apps/${app}/${env}/configmap.yaml`] = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${app}-config\ndata:\n  LOG_LEVEL: ${env === 'production' ? 'info' : 'debug'}\n  ENVIRONMENT: ${env}\n`;
    files[`apps/${app}/${env}/patch-replicas.yaml`] = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${app}\nspec:\n  replicas: ${env === 'production' ? 3 : 1}\n`;
  }
  return files;
}

/**
 * The bare repository `<dir>/env.git`: `apps` apps, `history` commits (the first adds everything,
 * each later one bumps one overlay's digest), made with git fast-import. Returns its facts.
 */
function makeEnvironmentRepository(dir, { apps = 36, history = 120 } = {}) {
  const rand = prng(9);
  const hex = () => Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(rand() * 16)]).join('');
  const names = Array.from({ length: apps }, (_, i) => `app-${String(i + 1).padStart(2, '0')}`);
  const digests = new Map();
  const digestOf = (app, env) => digests.get(`${app}/${env}`) ?? (digests.set(`${app}/${env}`, `sha256:${hex()}`), digests.get(`${app}/${env}`));
  const files = { 'README.md': '# acme environments\n\nFlux watches main. Promotions are commits by kubeline.\n' };
  for (const env of ['staging', 'production']) files[`clusters/${env}/apps.yaml`] = names.map((a) => `---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: ${a}\n  namespace: flux-system\nspec:\n  path: ./apps/${a}/${env}\n  prune: true\n  interval: 5m\n  sourceRef:\n    kind: GitRepository\n    name: environments\n`).join('');
  for (const a of names) Object.assign(files, appFiles(a, digestOf));
  const chunks = [];
  const data = (text) => {
    const b = Buffer.from(text);
    chunks.push(Buffer.from(`data ${b.length}\n`), b, Buffer.from('\n'));
  };
  let when = 1_700_000_000;
  const commit = (message, changed) => {
    chunks.push(Buffer.from(`commit refs/heads/main\ncommitter seed <seed@example.com> ${(when += 3600)} +0000\n`));
    data(message);
    for (const [path, text] of Object.entries(changed)) {
      chunks.push(Buffer.from(`M 100644 inline ${path}\n`));
      data(text);
    }
  };
  commit('Initial environments\n', files);
  for (let i = 1; i < history; i++) {
    const app = names[Math.floor(rand() * names.length)];
    const env = rand() < 0.6 ? 'staging' : 'production';
    digests.set(`${app}/${env}`, `sha256:${hex()}`);
    const path = `apps/${app}/${env}/kustomization.yaml`;
    commit(`Promote ${IMAGE(app)} to ${env}\n`, { [path]: appFiles(app, digestOf)[path] });
  }
  const bare = join(dir, 'env.git');
  const git = (args, input) => execFileSync('git', args, { input, env: { ...process.env, ...SEED_ENV }, stdio: ['pipe', 'pipe', 'inherit'] });
  git(['init', '--quiet', '--bare', '--initial-branch=main', bare]);
  git(['--git-dir', bare, 'config', 'http.receivepack', 'true']);
  git(['--git-dir', bare, 'fast-import', '--quiet'], Buffer.concat(chunks));
  git(['--git-dir', bare, 'gc', '--quiet']);
  return { bare, files: Object.keys(files).length, commits: history, apps };
}

/** Top-level git processes in a GIT_TRACE2_EVENT log (sid without a parent): their sub-command and elapsed time. */
function topLevelGit(text) {
  const starts = new Map();
  const processes = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (e.sid.includes('/')) continue;
    if (e.event === 'start') starts.set(e.sid, e.argv.slice(1).filter((a) => !a.startsWith('-') || a === '-C').filter((a, i, all) => all[i - 1] !== '-C' && a !== '-C')[0] ?? '?');
    if (e.event === 'exit') processes.push({ sid: e.sid, command: starts.get(e.sid) ?? '?', ms: round(e.t_abs * 1000) });
  }
  return { count: processes.length, gitMs: round(processes.reduce((a, p) => a + p.ms, 0)), processes: processes.map(({ command, ms }) => ({ command, ms })) };
}

// ── the section ──────────────────────────────────────────────────────────────────────────────────

/**
 * Runs the section; prints its tables and returns what goes into results.json under `gitops`.
 * Problems (a failed run or check) go to `problems`, the rest to `notes`.
 */
export async function gitopsBench({ root, rounds = 7, apps = 36, history = 120, notes = [], problems = [] }) {
  rounds = Math.max(5, rounds);
  const entry = 'packages/gitops/src/index.ts';
  const bundled = await importFromSource(root, entry, 'gitops');
  const { promoteByCommit } = bundled.module;
  const work = mkdtempSync(join(tmpdir(), 'kubeline-gitops-bench-'));
  const token = randomBytes(16).toString('hex');
  const out = { repository: {}, file: FILE, rounds: [], loadavg: [], bundle: bundled.id };
  let server;
  const checkEnv = { ...process.env, LC_ALL: 'C' }; // fixed now: the tracing round's variables stay out of the checks
  const gitBare = (...args) => execFileSync('git', ['--git-dir', out.repository.bare, ...args], { encoding: 'utf8', env: checkEnv }).trim();
  const quiet = quietly;


  try {
    const made = epoch();
    out.repository = makeEnvironmentRepository(work, { apps, history });
    out.repository.makeMs = round(epoch() - made);
    out.repository.packBytes = Number(/size-pack: (\d+)/.exec(gitBare('count-objects', '-v'))?.[1] ?? NaN) * 1024;
    server = await serverProcess(work, token);
    const urls = { file: pathToFileURL(out.repository.bare).href, http: `${server.url}/env.git` };
    const clones = join(work, 'clones');
    const temp = join(work, 'ours');
    mkdirSync(clones);
    mkdirSync(temp);
    const peerEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_AUTHOR_NAME: 'ci', GIT_AUTHOR_EMAIL: 'ci@example.com', GIT_COMMITTER_NAME: 'ci', GIT_COMMITTER_EMAIL: 'ci@example.com' };
    let clone = 0;

    const subjects = {
      ours: async (transport, digest) => {
        const t0 = epoch();
        const { value: r } = await quiet(() =>
          promoteByCommit(
            { repository: urls[transport], branch: 'main', token: transport === 'http' ? token : undefined, file: FILE, change: { kind: 'kustomize-image', name: IMAGE(TARGET_APP) }, digest, environment: 'production', push: 'direct', retries: 0 },
            { tempDir: temp },
          ),
        );
        return { ms: epoch() - t0, commit: r.commit, changed: r.changed, attempts: r.attempts };
      },
      shell: async (transport, digest) => {
        const dir = join(clones, `c${clone++}`);
        const url = transport === 'http' ? urls.http.replace('http://', `http://x-access-token:${token}@`) : urls.file;
        const script = `git clone --depth 1 --branch main '${url}' '${dir}' && sed -i "s/digest: .*/digest: ${digest}/" '${dir}/${FILE}' && git -C '${dir}' commit -am "promote ${digest.slice(0, 19)}" && git -C '${dir}' push`;
        const r = await run('sh', ['-c', script], { env: peerEnv });
        rmSync(dir, { recursive: true, force: true });
        if (r.code !== 0) throw new Error(`the shell promotion over ${transport} failed (${r.code}): ${r.stderr.replaceAll(token, '***').trim().split('\n').slice(-3).join(' | ')}`);
        return { ms: r.ms };
      },
    };

    /** One run with its checks: main moved by one commit onto `before`, one line of FILE changed, the digest at the tip. */
    const once = async (subject, transport) => {
      const digest = newDigest();
      const before = gitBare('rev-parse', 'main');
      const requestsBefore = (await server.counts()).requests;
      const r = await subjects[subject](transport, digest);
      r.requests = (await server.counts()).requests - requestsBefore;
      const tip = gitBare('rev-parse', 'main');
      const failed = [];
      if (tip === before) failed.push('main did not move');
      else {
        if (gitBare('rev-parse', 'main~1') !== before) failed.push('the new commit is not on the previous tip');
        const numstat = gitBare('diff', '--numstat', 'main~1', 'main');
        if (numstat !== `1\t1\t${FILE}`) failed.push(`the commit changed more than one line of ${FILE} (${numstat.replace(/\s+/g, ' ')})`);
        if (!gitBare('show', `main:${FILE}`).includes(`digest: ${digest}`)) failed.push(`${FILE} at the tip lacks ${digest}`);
      }
      if (subject === 'ours' && (r.commit !== tip || !r.changed)) failed.push(`promoteByCommit returned ${r.commit?.slice(0, 12)} (changed ${r.changed}), the tip is ${tip.slice(0, 12)}`);
      return { ...r, digest, tip, ok: failed.length === 0, failed };
    };

    const pairs = (n) => {
      const transports = n % 2 ? ['http', 'file'] : ['file', 'http'];
      const order = n % 2 ? ['shell', 'ours'] : ['ours', 'shell'];
      const flip = Math.floor(n / 2) % 2 ? [...order].reverse() : order; // every pair of rounds shifts again, so each transport sees both orders
      return transports.flatMap((t, i) => (i ? flip : order).map((s) => [s, t]));
    };

    // Warm-up, untimed.
    for (const [s, t] of pairs(0)) {
      const r = await once(s, t);
      if (!r.ok) throw new Error(`warm-up: ${s} over ${t}: ${r.failed.join('; ')}`);
    }
    for (let n = 0; n < rounds; n++) {
      out.loadavg.push(round(os.loadavg()[0], 2));
      const round_ = { n, order: [], runs: {} };
      for (const [s, t] of pairs(n)) {
        const key = `${s}-${t}`;
        round_.order.push(key);
        round_.runs[key] = await once(s, t);
        if (!round_.runs[key].ok) problems.push(`gitops: round ${n + 1}: ${s} over ${t}: ${round_.runs[key].failed.join('; ')}`);
      }
      out.rounds.push(round_);
      console.error(`[gitops] round ${n + 1}/${rounds}: ` + round_.order.map((k) => `${k} ${round_.runs[k].ms.toFixed(0)} ms`).join(', '));
    }
    out.loadavg.push(round(os.loadavg()[0], 2));

    // One more round, untimed, with GIT_TRACE2_EVENT: the git processes each subject starts and their time.
    const traceFile = join(work, 'trace2.json');
    out.gitProcesses = {};
    try {
      process.env.GIT_TRACE2_EVENT = traceFile;
      peerEnv.GIT_TRACE2_EVENT = traceFile;
      for (const [s, t] of pairs(0)) {
        writeFileSync(traceFile, '');
        const r = await once(s, t);
        if (!r.ok) problems.push(`gitops: tracing round: ${s} over ${t}: ${r.failed.join('; ')}`);
        out.gitProcesses[`${s}-${t}`] = { ...topLevelGit(readFileSync(traceFile, 'utf8')), wallMs: round(r.ms) };
      }
    } finally {
      delete process.env.GIT_TRACE2_EVENT;
      delete peerEnv.GIT_TRACE2_EVENT;
    }

    // ── figures ──
    const keys = ['ours-file', 'shell-file', 'ours-http', 'shell-http'];
    const stats = {};
    for (const k of keys) stats[k] = { time: summarize(out.rounds.map((r) => r.runs[k].ms)), requests: median(out.rounds.map((r) => r.runs[k].requests)) };
    out.stats = stats;
    out.ratio = { file: round(stats['shell-file'].time.median / stats['ours-file'].time.median, 2), http: round(stats['shell-http'].time.median / stats['ours-http'].time.median, 2) };
    const ms_ = (x) => `${x.toFixed(0)} ms`;
    const r = out.repository;
    console.log(`\ngitops: promote a new digest into ${FILE} (kustomization images: digest), direct push to main of a bare repository`);
    console.log(`  repository: ${r.files} files (${r.apps} apps × base + staging + production), ${r.commits} commits, pack ${(r.packBytes / 1e3).toFixed(0)} kB; ${rounds} interleaved rounds after a warm-up, every run checked on the remote`);
    console.log(`  load average (1 min) per round: ${out.loadavg.join(', ')}; ${os.cpus().length} CPUs\n`);
    const label = { ours: 'promoteByCommit (in process)', shell: 'sh -c "git clone --depth 1 && sed && git commit -am && git push"' };
    const row = (k) => {
      const [s, t] = k.split('-');
      const st = stats[k].time;
      return [t === 'file' ? 'file://' : 'http (git http-backend, 127.0.0.1)', label[s], ms_(st.median), ms_(st.p90), `${ms_(st.min)}–${ms_(st.max)}`, t === 'http' ? String(stats[k].requests) : '—', String(out.gitProcesses[k]?.count ?? '—'), s === 'ours' ? `${out.ratio[t].toFixed(2)}×` : '—'];
    };
    console.log(table(['transport', 'subject', 'median', 'p90', 'min–max', 'HTTP requests', 'git processes', 'shell ÷ ours'], keys.map(row)));
    console.log('\n  Where the time goes (one untimed round with GIT_TRACE2_EVENT; git processes started by the subject, not their own children):\n');
    console.log(
      table(
        ['run', 'wall', 'in git', 'outside git', 'git processes (ms each)'],
        keys.map((k) => {
          const g = out.gitProcesses[k];
          return [k, ms_(g.wallMs), ms_(g.gitMs), ms_(g.wallMs - g.gitMs), g.processes.map((p) => `${p.command} ${p.ms.toFixed(0)}`).join(', ')];
        }),
      ),
    );
    console.log(`  HTTP: ours sends the token as a header from the first request; the shell's URL credentials are sent only after a 401, so it makes more requests.`);
    console.log(`  ours' time includes removing its clone folder; the shell's folder is removed untimed. No target is set for GitOps: the ratio is reported.`);
  } catch (err) {
    problems.push(`gitops: ${err.stack ?? err}`);
    out.failed = String(err.message ?? err);
  } finally {
    await server?.close();
    rmSync(work, { recursive: true, force: true });
    if (`gitops-${sourceHash(root, entry)}` !== bundled.id) notes.push(`gitops: packages/*/src changed while it ran: its figures are of the sources bundled at its start (${bundled.id})`);
  }
  return out;
}

// ── alone ───────────────────────────────────────────────────────────────────────────────────────

if (process.argv[2] === '--git-http-server') {
  // The child of serverProcess.
  const s = await gitHttpServer(process.argv[3], process.env.KUBELINE_BENCH_GIT_TOKEN);
  process.on('message', (m) => m === 'counts' && process.send({ counts: s.counts }));
  process.on('disconnect', () => process.exit(0));
  process.send({ url: s.url });
} else if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(import.meta.dirname, '..');
  const local = join(root, 'node_modules', '.bin', 'node');
  if (Number(process.versions.node.split('.')[0]) < 24 && process.execPath !== local) {
    // The bundle needs the actions' Node (24); npm scripts put node_modules/.bin first on PATH, a bare `node` may not.
    const child = spawn(local, process.argv.slice(1), { stdio: 'inherit', env: { ...process.env, PATH: `${dirname(local)}${delimiter}${process.env.PATH}` } });
    child.on('error', (err) => (console.error(`gitops bench: needs Node 24 (${local}): ${err.message}`), process.exit(2)));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  } else {
    const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '7' } } });
    const notes = [];
    const problems = [];
    await gitopsBench({ root, rounds: Number(args.rounds), notes, problems });
    for (const n of notes) console.log(`note: ${n}`);
    for (const p of problems) console.log(`problem: ${p}`);
    process.exitCode = problems.length ? 1 : 0;
  }
}
