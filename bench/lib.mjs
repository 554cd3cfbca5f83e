// Helpers for bench/run.mjs: statistics, tables, processes, and the parsers
// that read BuildKit and `docker push` logs. No dependencies beyond Node.
import { spawn } from 'node:child_process';

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
