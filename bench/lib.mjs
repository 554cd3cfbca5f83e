// Helpers for bench/run.mjs and its sections: statistics, tables, processes, the parsers that read
// BuildKit and `docker push` logs, project code bundled from its TypeScript source, and the test
// bed's cluster. No dependencies beyond Node, except where said: importFromSource runs ncc (a
// devDependency) as a child process, clusterApi loads @kubernetes/client-node when called.
import { execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

// ── statistics ──────────────────────────────────────────────────────────────

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100): a value that was actually measured. */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function summarize(xs) {
  return {
    n: xs.length,
    median: round(median(xs)),
    p90: round(percentile(xs, 90)),
    min: round(Math.min(...xs)),
    max: round(Math.max(...xs)),
    samples: xs.map(round),
  };
}

export function round(x, digits = 1) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ── formatting ──────────────────────────────────────────────────────────────

export const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : '—');
export const sec = (x) => (Number.isFinite(x) ? `${(x / 1000).toFixed(2)} s` : '—');
export const signedMs = (x) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(0)} ms` : '—');
export const pct = (x) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(1)} %` : '—');

export function bytes(n) {
  if (!Number.isFinite(n)) return '—';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** A plain-text table; numbers-looking cells are right-aligned. */
export function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c ?? '')));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => [...(r[i] ?? '')].length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+~]?[\d.,]+( ?(ms|s|%|kB|MB|B))?$|^—$/.test(String(r[i] ?? '—'))));
  const pad = (s, i) => {
    const fill = ' '.repeat(Math.max(0, widths[i] - [...s].length));
    return numeric[i] ? fill + s : s + fill;
  };
  const line = (r) => '  ' + r.map(pad).join('  ').trimEnd();
  const rule = '  ' + widths.map((w) => '─'.repeat(w)).join('  ');
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}

// ── processes ───────────────────────────────────────────────────────────────

/**
 * Runs a program (no shell), captures its output, and times it from spawn to
 * exit with the monotonic clock.
 */
export function run(cmd, args, { env = process.env, cwd, input, timeoutMs = 10 * 60_000 } = {}) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + String(err), ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

// ── log parsers ─────────────────────────────────────────────────────────────

/**
 * BuildKit's plain progress (`--progress=plain`, or any non-TTY output):
 * every Dockerfile step is a vertex `#N [stage i/n] INSTRUCTION …` that ends
 * with `#N CACHED` when reused or `#N DONE <t>` when it ran. FROM and the
 * [internal] vertices are not build steps and are left out.
 */
export function buildkitSteps(log) {
  const names = new Map();
  const state = new Map();
  for (const line of log.split('\n')) {
    const header = /^#(\d+) \[([^\]]+)\] (\S+)(.*)$/.exec(line);
    if (header) {
      const [, n, where, instr, rest] = header;
      if (where !== 'internal' && /\d+\/\d+/.test(where) && instr.toUpperCase() !== 'FROM') names.set(n, `[${where}] ${instr}${rest}`);
      continue;
    }
    const end = /^#(\d+) (CACHED|DONE|ERROR)\b/.exec(line);
    if (end && !(state.get(end[1]) === 'CACHED')) state.set(end[1], end[2]);
  }
  const steps = [...names].map(([n, name]) => ({ name: name.length > 70 ? name.slice(0, 67) + '…' : name, state: state.get(n) ?? 'unknown' }));
  return {
    steps,
    cached: steps.filter((s) => s.state === 'CACHED').length,
    ran: steps.filter((s) => s.state !== 'CACHED').map((s) => s.name),
  };
}

/**
 * `docker push` output: each layer is listed as `<id>: Preparing`, then ends
 * as `Layer already exists`, `Mounted from <repo>` or `Pushed`.
 */
export function pushLayers(log) {
  const layers = new Map();
  let pushes = 0;
  for (const line of log.split('\n')) {
    if (/^The push refers to repository/.test(line)) pushes++;
    const m = /^([0-9a-f]{12}): (Preparing|Waiting|Layer already exists|Mounted from \S+|Pushed|Retrying.*|Pushing.*)\s*$/.exec(line.trim());
    if (!m) continue;
    const key = `${pushes}:${m[1]}`;
    const final = m[2] === 'Layer already exists' ? 'exists' : m[2].startsWith('Mounted') ? 'mounted' : m[2] === 'Pushed' ? 'pushed' : undefined;
    if (!layers.has(key)) layers.set(key, 'unknown');
    if (final) layers.set(key, final);
  }
  const count = (s) => [...layers.values()].filter((v) => v === s).length;
  return { pushes, layers: layers.size, exists: count('exists'), mounted: count('mounted'), pushed: count('pushed'), unknown: count('unknown') };
}

export function addCounts(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) if (typeof v === 'number') out[k] = (out[k] ?? 0) + v;
  return out;
}

// ── the runner's file commands ──────────────────────────────────────────────

/**
 * Reads GITHUB_OUTPUT / GITHUB_STATE / GITHUB_ENV: `name=value` lines and
 * `name<<DELIMITER` … `DELIMITER` blocks (what @actions/core writes). A name
 * written twice keeps its last value, as on the runner.
 */
export function parseFileCommands(text) {
  const out = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delim] = heredoc;
      const value = [];
      while (++i < lines.length && lines[i].replace(/\r$/, '') !== delim) value.push(lines[i]);
      out[name] = value.join('\n');
    } else if (line.includes('=')) {
      const eq = line.indexOf('=');
      out[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return out;
}

/** Total length of the union of [start, end] intervals (ms): wall time covered by overlapping calls. */
export function unionMs(intervals) {
  const s = intervals.filter((x) => x.end > x.start).map((x) => [x.start, x.end]).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur;
  for (const [a, b] of s) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

// ── project code, bundled from its TypeScript source ────────────────────────

/** Files under `dir`, recursively, in path order. */
function filesUnder(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(full));
    else if (e.isFile()) out.push(full);
  }
  return out;
}

/**
 * Imports a TypeScript module of the repository (e.g. packages/kube/src/wait.ts) bundled with ncc
 * as the actions are (ESM, --minify), into the bench cache folder
 * (${KUBELINE_BENCH_CACHE:-${KUBELINE_CACHE:-~/.cache/kubeline}/bench}/<id>/, id = <name>-<sourceHash>):
 * built once per source. Returns { module, id }. The bundles need the Node the actions run on (24: node_modules/.bin/node, first
 * on PATH in npm scripts); the first build of a package's code takes up to a minute on 2 cores.
 */
export async function importFromSource(root, entry, name) {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) {
    throw new Error(`${name}: the bundle from ${entry} needs Node 24 (the actions' runtime), this is ${process.version}: run it through npm (\`npm run bench\`) or with PATH=$PWD/node_modules/.bin:$PATH`);
  }
  const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
  const cache = process.env.KUBELINE_BENCH_CACHE ?? join(process.env.KUBELINE_CACHE ?? join(homedir(), '.cache', 'kubeline'), 'bench');
  const id = `${name}-${sourceHash(root, entry)}`;
  const dir = join(cache, id);
  if (!existsSync(join(dir, 'index.js'))) {
    console.error(`[bench] bundling ${entry} with ncc (once per source; cached in ${dir})`);
    mkdirSync(dirname(dir), { recursive: true });
    const tmp = `${dir}.tmp-${process.pid}`;
    execFileSync(process.execPath, [ncc, 'build', join(root, entry), '-o', tmp, '--minify', '--no-source-map-register', '--quiet'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    writeFileSync(join(tmp, 'package.json'), '{ "type": "module" }\n');
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  return { module: await import(pathToFileURL(join(dir, 'index.js')).href), id };
}

/**
 * The cache key of importFromSource: the entry, every file under packages/<pkg>/src,
 * package-lock.json and ncc's version. The tree may be shared: a section compares it before and
 * after to tell whether the sources changed while it measured.
 */
export function sourceHash(root, entry) {
  const hash = createHash('sha256').update(entry);
  const packages = join(root, 'packages');
  for (const pkg of readdirSync(packages).sort()) {
    const src = join(packages, pkg, 'src');
    if (!existsSync(src)) continue;
    for (const f of filesUnder(src)) hash.update(relative(root, f)).update(readFileSync(f));
  }
  for (const f of [join(root, 'package-lock.json'), join(root, 'node_modules', '@vercel', 'ncc', 'package.json')]) if (existsSync(f)) hash.update(readFileSync(f));
  return hash.digest('hex').slice(0, 16);
}

// ── the test bed's cluster (the deploy sections) ────────────────────────────

/** The vendor's kubectl this machine carries (v1.32): compared against in the deploy sections, never a dependency. */
export const KUBECTL = '/usr/bin/kubectl';

/**
 * KUBELINE_KUBECONFIG, else `scripts/cluster up` and its `export` lines into process.env (as the
 * manifests section does with `scripts/testbed tools`). False when the cluster cannot come up.
 * Never `scripts/cluster down`: the cluster is shared.
 */
export function ensureCluster(root) {
  if (process.env.KUBELINE_KUBECONFIG) return true;
  console.error('[bench] no KUBELINE_KUBECONFIG: scripts/cluster up');
  const out = spawnSync(join(root, 'scripts', 'cluster'), ['up'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (out.status !== 0) return false;
  for (const line of out.stdout.split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
  }
  return Boolean(process.env.KUBELINE_KUBECONFIG);
}

/**
 * Plain HTTPS to the cluster of a kubeconfig, with client-node's KubeConfig for the credentials
 * (independent of the code under test), and the bench's namespaces: named <prefix>-<random>,
 * created on demand, all deleted by deleteNamespaces().
 */
export async function clusterApi(kubeconfigPath) {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const server = new URL(kc.getCurrentCluster().server);

  /** Options for https.request to `path`, with the kubeconfig's credentials. */
  async function requestOptions(method, path) {
    const opts = { method, headers: { accept: 'application/json' } };
    await kc.applyToHTTPSOptions(opts);
    return { ...opts, hostname: server.hostname, port: server.port, path };
  }

  async function send(method, path, body, contentType = 'application/json') {
    const opts = await requestOptions(method, path);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    if (payload !== undefined) opts.headers['content-type'] = contentType;
    return new Promise((resolveP, reject) => {
      const req = https.request(opts, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = text;
          try {
            parsed = JSON.parse(text);
          } catch {}
          resolveP({ status: res.statusCode, body: parsed });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  const namespaces = [];
  async function namespace(prefix) {
    const name = `${prefix}-${randomBytes(3).toString('hex')}`;
    const r = await send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (r.status !== 201) throw new Error(`create namespace ${name}: HTTP ${r.status}: ${r.body?.message}`);
    namespaces.push(name);
    return name;
  }

  /**
   * Deletes every namespace made by namespace(); with waitMs, waits until they are gone (so that
   * the namespace controller's work is not in the next section's figures). Returns those left.
   */
  async function deleteNamespaces({ waitMs = 0 } = {}) {
    const names = namespaces.splice(0);
    await Promise.all(names.map((ns) => send('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined)));
    const deadline = Date.now() + waitMs;
    let left = names;
    while (left.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      const gone = await Promise.all(left.map((ns) => send('GET', `/api/v1/namespaces/${ns}`).then((r) => r.status === 404, () => false)));
      left = left.filter((_, i) => !gone[i]);
    }
    return waitMs ? left : [];
  }

  return { kc, server, kubeconfigPath, send, requestOptions, namespace, deleteNamespaces };
}

/**
 * A helper server in a process of its own (so relaying bytes does not share an event loop with
 * the subject under test): forks `script` with `args`, waits for its first message `{ [key]: … }`,
 * and returns that value, `counts()` (asks the child for its figures) and `close()`.
 */
export async function forkedService(script, args, key, env = process.env) {
  const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  const value = await new Promise((ok, fail) => {
    child.once('message', (m) => ok(m[key]));
    child.once('exit', (code) => fail(new Error(`${args.join(' ')} exited (${code})`)));
  });
  return {
    value,
    counts: () =>
      new Promise((ok) => {
        child.once('message', (m) => ok(m.counts));
        child.send('counts');
      }),
    close: () => new Promise((ok) => (child.exitCode !== null ? ok() : (child.once('exit', ok), child.kill()))),
  };
}

/** Runs `fn` with stdout captured (the toolkit's `log` prints there), so its lines stay out of the tables. */
export async function quietly(fn) {
  const write = process.stdout.write;
  const lines = [];
  process.stdout.write = (chunk, ...rest) => (lines.push(String(chunk).trimEnd()), typeof rest.at(-1) === 'function' && rest.at(-1)(), true);
  try {
    return { value: await fn(), lines };
  } finally {
    process.stdout.write = write;
  }
}
