import * as http from 'node:http';
import * as https from 'node:https';
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import { ExternalError, errorMessage, withRetries } from '@kubeline/toolkit';
import { formatDuration } from './duration';
import { type RolloutObject, type RolloutState, type RolloutStatus, hasRollout, rolloutStatus } from './rollout';

/** An applied object to wait for. */
export interface WaitTarget {
  apiVersion: string;
  kind: string;
  /** Unset for cluster-scoped kinds; a namespaced kind without one uses the context's namespace, else `default`. */
  namespace?: string;
  name: string;
}

export interface WaitOptions {
  /** How long to wait for everything, from the call. Default 5 minutes. */
  timeoutMs?: number;
  /**
   * When this rollout started (ms since the epoch): durations are measured from it, and a
   * Deployment's ProgressDeadlineExceeded condition last updated before it is stale. Best taken
   * just before the apply (or from the apply response's Date header). Default: now.
   */
  startedAt?: number;
  /** Called once the first state of everything is known, then every `progressIntervalMs` while something waits. */
  onProgress?: (progress: WaitProgress) => void;
  /** Default 10 s. */
  progressIntervalMs?: number;
  /** Stops the wait: it resolves promptly with outcome `cancelled` and leaves no watch open. */
  signal?: AbortSignal;
  /** Stop as soon as one target fails (default), or wait for every target to settle. */
  failFast?: boolean;
  /** Debug lines: watches dropped and resumed, relists after 410 Gone. */
  log?: (line: string) => void;
}

export interface WaitProgress {
  elapsedMs: number;
  ready: number;
  total: number;
  /** What is still waiting, and why. */
  waiting: Array<{ target: WaitTarget; reason: string }>;
}

export interface TargetResult {
  target: WaitTarget;
  /** The last state seen; `progressing` at the end means it was still waiting (timeout, cancel, or another target failed). */
  state: RolloutState;
  reason: string;
  /** From `startedAt` until it was seen ready (or failed). */
  durationMs?: number;
  /** The object as last seen (undefined when it was not found). */
  object?: RolloutObject;
}

export type WaitOutcome = 'ready' | 'failed' | 'timeout' | 'cancelled';

export interface WaitResult {
  /** `ready` when every target is; `failed` when one failed; `timeout`; `cancelled` by the signal. */
  outcome: WaitOutcome;
  /** From the call to the return. */
  durationMs: number;
  targets: TargetResult[];
  /** Counters, for the report and the benchmark. */
  stats: { watches: number; reconnects: number; relists: number };
}

/** What a target is called in lines for people: `Deployment web`. */
export const targetLabel = (t: WaitTarget): string => `${t.kind} ${t.name}`;

/** One progress line: `waiting for 2 of 5 (12s): Deployment web: 1 of 3 updated replicas available; …`. */
export function progressLine(p: WaitProgress): string {
  const what = p.waiting.map((w) => `${targetLabel(w.target)}: ${w.reason}`).join('; ');
  return `waiting for ${p.waiting.length} of ${p.total} (${formatDuration(p.elapsedMs)}): ${what}`;
}

/** Lines for the log once the wait is over: one per target, then what happened. */
export function waitResultLines(result: WaitResult): string[] {
  const lines = result.targets.map((t) => {
    const took = t.durationMs !== undefined ? ` after ${formatDuration(Math.max(0, t.durationMs))}` : '';
    const word = t.state === 'ready' ? `ready${took}` : t.state === 'failed' ? `FAILED${took}` : 'not ready';
    return `${targetLabel(t.target)}${t.target.namespace ? ` (${t.target.namespace})` : ''}: ${word}: ${t.reason}`;
  });
  const verdict: Record<WaitOutcome, string> = {
    ready: 'everything is ready',
    failed: 'a rollout failed',
    timeout: 'timed out',
    cancelled: 'cancelled',
  };
  lines.push(`${verdict[result.outcome]} (${formatDuration(result.durationMs)})`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Reading the API

/** An HTTP answer the API server gave to a read. */
export class ApiReadError extends ExternalError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface ApiReadOptions {
  signal?: AbortSignal;
  /** Default 30 s. */
  timeoutMs?: number;
  /** Keep the body as text (logs), never parse it as JSON. */
  raw?: boolean;
}

/**
 * GETs `path` (with query) from the current context's API server with the kubeconfig's credentials
 * (client certificates, tokens, exec plugins: client-node applies them). Resolves with the HTTP
 * status and the body (parsed JSON, or the text when it is not JSON); rejects only when there is
 * no answer (network error, timeout, abort).
 */
export async function readApi(kc: KubeConfig, path: string, options: ApiReadOptions = {}): Promise<{ status: number; body: any; date?: number }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ExternalError('the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  const opts: https.RequestOptions = { method: 'GET', headers: { accept: options.raw ? '*/*' : 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  options.signal?.throwIfAborted();
  const request = url.protocol === 'http:' ? http.request : https.request;
  return new Promise((resolve, reject) => {
    const req = request({ ...opts, protocol: url.protocol, hostname: url.hostname, port: url.port, path: url.pathname + url.search }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        if (!options.raw) {
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
        }
        const date = res.headers.date ? Date.parse(res.headers.date) : undefined;
        resolve({ status: res.statusCode ?? 0, body, date: Number.isNaN(date) ? undefined : date });
      });
    });
    const timeoutMs = options.timeoutMs ?? 30_000;
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path}: no answer in ${formatDuration(timeoutMs)}`)));
    const onAbort = () => req.destroy(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => options.signal?.removeEventListener('abort', onAbort));
    req.on('error', reject);
    req.end();
  });
}

/** The server's message for a failed read: its Status message, else the start of the body. */
export function apiMessage(body: unknown): string {
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  return String(body ?? '').slice(0, 300);
}

/** No answer, or an answer worth another try (429, 5xx). */
function isTransientRead(err: unknown): boolean {
  if (err instanceof ApiReadError) return err.status === 429 || err.status >= 500;
  return !(err instanceof ExternalError);
}

/** GET that must answer 200; transient failures retried with backoff. */
async function readOk(kc: KubeConfig, path: string, what: string, signal: AbortSignal, log?: (line: string) => void): Promise<any> {
  return (await readOkDated(kc, path, what, signal, log)).body;
}

/** readOk, with the server's Date header and when it arrived here. */
async function readOkDated(kc: KubeConfig, path: string, what: string, signal: AbortSignal, log?: (line: string) => void): Promise<{ body: any; date?: number; receivedAt: number }> {
  return withRetries(
    async () => {
      const r = await readApi(kc, path, { signal });
      if (r.status !== 200) throw new ApiReadError(`${what}: HTTP ${r.status}: ${apiMessage(r.body)}`, r.status);
      return { body: r.body, date: r.date, receivedAt: Date.now() };
    },
    {
      retries: 6,
      baseDelayMs: 250,
      maxDelayMs: 4000,
      isRetryable: (err) => !signal.aborted && isTransientRead(err),
      what,
      sleep: (ms) => abortableSleep(ms, signal),
    },
  ).catch((err: unknown) => {
    if (signal.aborted) throw err;
    log?.(`${what} failed: ${errorMessage(err)}`);
    throw err instanceof ExternalError ? err : new ExternalError(`${what}: ${errorMessage(err)}`);
  });
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// Where each kind lives

interface ResourceType {
  /** e.g. /apis/apps/v1 */
  base: string;
  resource: string;
  namespaced: boolean;
}

const KNOWN: Record<string, { resource: string; namespaced: boolean }> = {
  'apps/Deployment': { resource: 'deployments', namespaced: true },
  'apps/StatefulSet': { resource: 'statefulsets', namespaced: true },
  'apps/DaemonSet': { resource: 'daemonsets', namespaced: true },
  'batch/Job': { resource: 'jobs', namespaced: true },
  '/Pod': { resource: 'pods', namespaced: true },
  '/PersistentVolumeClaim': { resource: 'persistentvolumeclaims', namespaced: true },
  'apiextensions.k8s.io/CustomResourceDefinition': { resource: 'customresourcedefinitions', namespaced: false },
};

const apiBase = (apiVersion: string): string => (apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);

/** Resource types from built-in knowledge, else discovery (one request per apiVersion). */
class Resources {
  private readonly discovery = new Map<string, Promise<any>>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly signal: AbortSignal,
  ) {}

  async of(apiVersion: string, kind: string): Promise<ResourceType | undefined> {
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    const known = KNOWN[`${group}/${kind}`];
    if (known) return { base: apiBase(apiVersion), ...known };
    let list = this.discovery.get(apiVersion);
    if (!list) {
      list = readOk(this.kc, apiBase(apiVersion), `discover ${apiVersion}`, this.signal).catch((err: unknown) => {
        if (err instanceof ApiReadError && err.status === 404) return { resources: [] };
        throw err;
      });
      this.discovery.set(apiVersion, list);
    }
    const found = ((await list).resources ?? []).find((r: { kind: string; name: string }) => r.kind === kind && !r.name.includes('/'));
    return found ? { base: apiBase(apiVersion), resource: found.name, namespaced: found.namespaced === true } : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The wait

interface Tracked {
  target: WaitTarget;
  status: RolloutStatus;
  /** Set once ready or failed: those states stick. */
  settledAt?: number;
  object?: RolloutObject;
}

/** One list + watch per resource type and namespace. */
interface WatchGroup {
  label: string;
  path: string;
  fieldSelector?: string;
  members: Map<string, Tracked>;
  resourceVersion?: string;
  /** Bumped for each connection so callbacks from an old one are ignored. */
  connection: number;
  abort?: () => void;
  failures: number;
}

const MAX_WATCH_FAILURES = 8;
const DEFAULT_TIMEOUT_MS = 5 * 60_000;

const targetKey = (t: WaitTarget): string => `${t.apiVersion}|${t.kind}|${t.namespace ?? ''}|${t.name}`;

/**
 * Waits for everything applied at once: ONE list + watch per resource type and namespace (not per
 * object), each started from its list's resourceVersion, resumed from the last resourceVersion seen
 * when it drops, listed again on 410 Gone, reconnected with bounded backoff. Each target is judged
 * by the rules in rollout.ts on every change, and the call returns the moment the last one is ready
 * (or one fails, with `failFast`). The total is the slowest target, not the sum.
 *
 * Resolves with the outcome and, per target, its last state, reason and time to ready; on timeout
 * or cancel, the targets still waiting keep the reason they were waiting for. Rejects only when the
 * API cannot be read at all (unreachable after retries, 403 on list or watch, a watch failing
 * {@link MAX_WATCH_FAILURES} times in a row).
 */
export async function waitForAll(kc: KubeConfig, targets: readonly WaitTarget[], options: WaitOptions = {}): Promise<WaitResult> {
  return new Waiter(kc, targets, options).run();
}

class Waiter {
  private readonly began = Date.now();
  private readonly startedAt: number;
  private readonly tracked: Tracked[] = [];
  private readonly groups: WatchGroup[] = [];
  private readonly stop = new AbortController();
  private readonly stats = { watches: 0, reconnects: 0, relists: 0 };
  private readonly timers: NodeJS.Timeout[] = [];
  private finished = false;
  private clockOffset?: number;
  private resolve!: (r: WaitResult) => void;
  private reject!: (err: unknown) => void;

  constructor(
    private readonly kc: KubeConfig,
    targets: readonly WaitTarget[],
    private readonly options: WaitOptions,
  ) {
    this.startedAt = options.startedAt ?? this.began;
    const seen = new Set<string>();
    for (const t of targets) {
      const key = targetKey(t);
      if (seen.has(key)) continue;
      seen.add(key);
      const waits = hasRollout(t.apiVersion, t.kind);
      this.tracked.push({
        target: { ...t },
        status: waits ? { state: 'progressing', reason: 'not read yet' } : { state: 'ready', reason: 'applied: nothing to wait for' },
        settledAt: waits ? undefined : this.began,
      });
    }
  }

  run(): Promise<WaitResult> {
    return new Promise<WaitResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      const signal = this.options.signal;
      if (signal?.aborted) return this.finish('cancelled');
      signal?.addEventListener('abort', () => this.finish('cancelled'), { once: true, signal: this.stop.signal });
      this.timers.push(setTimeout(() => this.finish('timeout'), this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
      this.start().catch((err: unknown) => this.fail(err));
    });
  }

  private async start(): Promise<void> {
    if (this.checkDone()) return;
    const resources = new Resources(this.kc, this.stop.signal);
    const defaultNamespace = this.kc.getContextObject(this.kc.getCurrentContext())?.namespace || 'default';
    const byGroup = new Map<string, WatchGroup>();
    for (const t of this.tracked) {
      if (t.settledAt !== undefined) continue;
      const type = await resources.of(t.target.apiVersion, t.target.kind);
      if (this.finished) return;
      if (!type) {
        this.settle(t, { state: 'failed', reason: `the API server does not serve ${t.target.kind} in ${t.target.apiVersion}` });
        continue;
      }
      if (type.namespaced) t.target.namespace ??= defaultNamespace;
      else delete t.target.namespace;
      const ns = t.target.namespace;
      const path = `${type.base}${ns ? `/namespaces/${encodeURIComponent(ns)}` : ''}/${type.resource}`;
      let group = byGroup.get(path);
      if (!group) {
        group = { label: `${type.resource}${ns ? ` in ${ns}` : ''}`, path, members: new Map(), connection: 0, failures: 0 };
        byGroup.set(path, group);
        this.groups.push(group);
      }
      group.members.set(t.target.name, t);
    }
    for (const g of this.groups) {
      // One object: let the server filter. Several: the whole namespace's list of that type.
      if (g.members.size === 1) g.fieldSelector = `metadata.name=${[...g.members.keys()][0]}`;
    }
    this.stats.watches = this.groups.length;
    await Promise.all(this.groups.map((g) => this.list(g)));
    if (this.finished || this.checkDone()) return;
    for (const g of this.groups) void this.watch(g);
    this.progress();
    const every = this.options.progressIntervalMs ?? 10_000;
    const interval = setInterval(() => this.progress(), every);
    this.timers.push(interval);
  }

  private async list(g: WatchGroup): Promise<void> {
    const items: RolloutObject[] = [];
    let next = '';
    let resourceVersion = '';
    for (;;) {
      const query = new URLSearchParams({ limit: '500' });
      if (g.fieldSelector) query.set('fieldSelector', g.fieldSelector);
      if (next) query.set('continue', next);
      const { body: page, date, receivedAt } = await readOkDated(this.kc, `${g.path}?${query}`, `list ${g.label}`, this.stop.signal, this.options.log);
      this.serverClock(date, receivedAt);
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      next = page.metadata?.continue ?? '';
      if (!next) break;
    }
    if (this.finished) return;
    g.resourceVersion = resourceVersion;
    const byName = new Map(items.map((o) => [o.metadata?.name ?? '', o]));
    const now = Date.now();
    for (const [name, t] of g.members) this.observe(t, byName.get(name), now);
    this.checkDone();
  }

  private async watch(g: WatchGroup): Promise<void> {
    if (this.finished) return;
    const connection = ++g.connection;
    const opened = Date.now();
    let gone = false;
    let events = 0;
    let ended = false;
    let ready = false;
    const onEvent = (type: string, obj: any) => {
      if (this.finished || g.connection !== connection) return;
      events++;
      g.failures = 0;
      if (type === 'ERROR') {
        // 410 Gone: the resourceVersion we resumed from has been compacted away.
        if (obj?.code === 410) gone = true;
        else this.options.log?.(`watch ${g.label}: ${apiMessage(obj)}`);
        g.abort?.();
        return;
      }
      const rv = obj?.metadata?.resourceVersion;
      if (rv) g.resourceVersion = rv;
      if (type === 'BOOKMARK') return;
      const t = g.members.get(obj?.metadata?.name ?? '');
      if (!t) return;
      this.observe(t, type === 'DELETED' ? undefined : obj, Date.now());
      this.checkDone();
    };
    const onDone = (err: any) => {
      if (ended) return;
      ended = true;
      if (this.finished || g.connection !== connection) return;
      void this.resume(g, { err, gone, events, connected: ready, lived: Date.now() - opened });
    };
    const query: Record<string, string | boolean> = { allowWatchBookmarks: true, resourceVersion: g.resourceVersion ?? '' };
    if (g.fieldSelector) query.fieldSelector = g.fieldSelector;
    try {
      const controller = await new Watch(this.kc).watch(g.path, query, onEvent, onDone);
      g.abort = () => controller.abort();
      // watch() resolves after the response headers: a 200 unless done() already ran with an error.
      ready = !ended;
      if (this.finished || g.connection !== connection) controller.abort();
    } catch (err) {
      onDone(err);
    }
  }

  private async resume(g: WatchGroup, how: { err: any; gone: boolean; events: number; connected: boolean; lived: number }): Promise<void> {
    const { err } = how;
    const status: number | undefined = err?.statusCode;
    if (how.gone || status === 410) {
      this.stats.relists++;
      this.options.log?.(`watch ${g.label}: resourceVersion ${g.resourceVersion} is gone (410); listing again`);
      try {
        await this.list(g);
      } catch (e) {
        return this.fail(e);
      }
      return this.watch(g);
    }
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return this.fail(new ExternalError(`cannot watch ${g.label}: HTTP ${status} ${err?.message ?? ''}`.trim()));
    }
    this.stats.reconnects++;
    // client-node's Watch aborts a connection after 30 s without data (its inactivity timeout) and
    // the server ends watches after a while: resuming those at once is routine. A connection that
    // failed or ended before it delivered anything counts against the bounded retries.
    const quiet = how.connected && (err?.name === 'TimeoutError' || (!err && (how.events > 0 || how.lived > 1000)));
    if (!quiet) g.failures++;
    if (g.failures > MAX_WATCH_FAILURES) {
      return this.fail(new ExternalError(`lost the watch on ${g.label}: ${g.failures} attempts in a row failed; last: ${err ? errorMessage(err) : 'connection closed'}`));
    }
    const delay = quiet ? 0 : Math.min(5000, 250 * 2 ** (g.failures - 1)) * (0.5 + Math.random() / 2);
    this.options.log?.(
      `watch ${g.label} ${err ? `dropped (${errorMessage(err)})` : 'ended'}; resuming from resourceVersion ${g.resourceVersion}` + (delay ? ` in ${formatDuration(delay)}` : ''),
    );
    await abortableSleep(delay, this.stop.signal);
    return this.watch(g);
  }

  /**
   * startedAt is this machine's time; conditions carry the API server's. The Date header (whole
   * seconds) tells how far apart the two clocks are; beyond 2 s, startedAt is moved onto the
   * server's clock so a stale ProgressDeadlineExceeded is still recognised.
   */
  private serverClock(date: number | undefined, receivedAt: number): void {
    if (date === undefined || this.clockOffset !== undefined) return;
    const offset = date + 500 - receivedAt;
    this.clockOffset = Math.abs(offset) > 2000 ? offset : 0;
    if (this.clockOffset) this.options.log?.(`the API server's clock is ${formatDuration(Math.abs(offset))} ${offset > 0 ? 'ahead of' : 'behind'} this machine's`);
  }

  private observe(t: Tracked, obj: RolloutObject | undefined, now: number): void {
    if (t.settledAt !== undefined) {
      // Settled states stick; keep the latest object for the diagnosis and the report.
      if (obj) t.object = obj;
      return;
    }
    t.object = obj;
    if (!obj) {
      t.status = { state: 'progressing', reason: 'not found' };
      return;
    }
    obj.apiVersion ??= t.target.apiVersion;
    obj.kind ??= t.target.kind;
    const status = rolloutStatus(obj, { startedAt: this.startedAt + (this.clockOffset ?? 0) });
    if (status.state === 'progressing') t.status = status;
    else this.settle(t, status, now);
  }

  private settle(t: Tracked, status: RolloutStatus, now = Date.now()): void {
    t.status = status;
    t.settledAt = now;
  }

  /** Finishes when everything is ready, or something failed (failFast) or everything settled. */
  private checkDone(): boolean {
    if (this.finished) return true;
    const failFast = this.options.failFast ?? true;
    const failedOne = this.tracked.some((t) => t.status.state === 'failed');
    if (this.tracked.every((t) => t.status.state === 'ready')) this.finish('ready');
    else if (failedOne && (failFast || this.tracked.every((t) => t.settledAt !== undefined))) this.finish('failed');
    return this.finished;
  }

  private progress(): void {
    if (this.finished || !this.options.onProgress) return;
    const waiting = this.tracked.filter((t) => t.status.state !== 'ready').map((t) => ({ target: t.target, reason: t.status.reason }));
    this.options.onProgress({ elapsedMs: Date.now() - this.began, ready: this.tracked.length - waiting.length, total: this.tracked.length, waiting });
  }

  private teardown(): void {
    this.finished = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.stop.abort();
    for (const g of this.groups) {
      g.connection++;
      g.abort?.();
    }
  }

  private finish(outcome: WaitOutcome): void {
    if (this.finished) return;
    this.teardown();
    this.resolve({
      outcome,
      durationMs: Date.now() - this.began,
      targets: this.tracked.map((t) => ({
        target: t.target,
        state: t.status.state,
        reason: t.status.reason,
        durationMs: t.settledAt !== undefined ? t.settledAt - this.startedAt : undefined,
        object: t.object,
      })),
      stats: { ...this.stats },
    });
  }

  private fail(err: unknown): void {
    if (this.finished) return;
    this.teardown();
    this.reject(err);
  }
}
