import { Watch } from '@kubernetes/client-node';
import { errorMessage, ExternalError, formatDuration } from '@kubeline/toolkit';
import { abortableSleep, type KubeClient, MissingResourceTypeError, type RequestTarget } from './client';
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
  /** What the list is about, for its error messages. */
  target: RequestTarget;
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
export async function waitForAll(client: KubeClient, targets: readonly WaitTarget[], options: WaitOptions = {}): Promise<WaitResult> {
  return new Waiter(client, targets, options).run();
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
    private readonly client: KubeClient,
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
    const byGroup = new Map<string, WatchGroup>();
    for (const t of this.tracked) {
      if (t.settledAt !== undefined) continue;
      // Discovery says the resource and scope (a namespaced kind without a namespace gets the client's).
      const collection = await this.client.collectionPath(t.target.apiVersion, t.target.kind, t.target.namespace).catch((err: unknown) => {
        if (err instanceof MissingResourceTypeError) return undefined;
        throw err;
      });
      if (this.finished) return;
      if (!collection) {
        this.settle(t, { state: 'failed', reason: `the API server does not serve ${t.target.kind} in ${t.target.apiVersion}` });
        continue;
      }
      const { path, info, namespace: ns } = collection;
      if (ns) t.target.namespace = ns;
      else delete t.target.namespace;
      let group = byGroup.get(path);
      if (!group) {
        group = {
          label: `${info.resource}${ns ? ` in ${ns}` : ''}`,
          path,
          target: { verb: 'list', group: info.group, resource: info.resource, namespace: ns, kind: t.target.kind },
          members: new Map(),
          connection: 0,
          failures: 0,
        };
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
    try {
      do {
        const { body: page, date } = await this.client.read<{ items?: RolloutObject[]; metadata?: { resourceVersion?: string; continue?: string } }>(g.path, {
          query: { limit: 500, fieldSelector: g.fieldSelector, continue: next || undefined },
          target: g.target,
          signal: this.stop.signal,
        });
        this.serverClock(date, Date.now());
        items.push(...(page.items ?? []));
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        next = page.metadata?.continue ?? '';
      } while (next);
    } catch (err) {
      if (!this.stop.signal.aborted) this.options.log?.(`list ${g.label} failed: ${errorMessage(err)}`);
      throw err;
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
        else this.options.log?.(`watch ${g.label}: ${obj?.message ?? JSON.stringify(obj)}`);
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
      const controller = await new Watch(this.client.kubeConfig).watch(g.path, query, onEvent, onDone);
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
