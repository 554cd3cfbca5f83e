/** The wait for a rollout: one list + watch per resource type and namespace, every target judged by the rollout rules. */
import { Watch } from '@kubernetes/client-node';
import type { ObjectRef } from '@kubeline/k8s';
import { errorMessage, ExternalError, formatDuration, withRetries } from '@kubeline/toolkit';
import { MissingResourceTypeError, type RequestTarget } from './api-errors';
import type { KubeClient } from './client';
import { type RolloutObject, type RolloutState, type RolloutStatus, hasRollout, rolloutStatus } from './rollout';

/** An applied object to wait for. */
export interface WaitTarget {
  apiVersion: string;
  kind: string;
  /** Unset for cluster-scoped kinds; a namespaced kind without one uses the context's namespace, else `default`. */
  namespace?: string;
  name: string;
}

/** How long and how `waitForAll` waits, and what it reports on the way. */
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

/** Where a wait stands: what is ready, and what it still waits for. */
export interface WaitProgress {
  elapsedMs: number;
  ready: number;
  total: number;
  /** What is still waiting, and why. */
  waiting: Array<{ target: WaitTarget; reason: string }>;
}

/** How one target ended. */
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

/** How a wait ended. */
export type WaitOutcome = 'ready' | 'failed' | 'timeout' | 'cancelled';

/** What `waitForAll` resolves with. */
export interface WaitResult {
  /** `ready` when every target is; `failed` when one failed; `timeout`; `cancelled` by the signal. */
  outcome: WaitOutcome;
  /** From the call to the return. */
  durationMs: number;
  targets: TargetResult[];
  /** Counters, for the report and the benchmark. */
  stats: { watches: number; reconnects: number; relists: number };
}

/** What to wait for: every applied object whose kind has a rollout (workloads, Jobs, PVCs, CRDs, custom resources). */
export function waitTargets(applied: readonly { ref: ObjectRef }[]): ObjectRef[] {
  return applied.filter((a) => hasRollout(a.ref.apiVersion, a.ref.kind)).map((a) => a.ref);
}

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
}

/** How one watch connection ended. */
interface WatchEnd {
  err: any;
  /** An ERROR event 410 Gone: the resourceVersion it resumed from has been compacted away. */
  gone: boolean;
  /** Events it delivered. */
  events: number;
  /** The server had answered 200 before it ended. */
  connected: boolean;
  /** How long it was open (ms). */
  lived: number;
}

/** A watch connection that failed, or ended before it delivered anything: one failed attempt of the bounded reconnects. */
class WatchDropped extends Error {
  constructor(
    end: WatchEnd,
    /** Failed connections in a row, this one included. */
    readonly inARow: number,
  ) {
    super(end.err ? errorMessage(end.err) : 'connection closed');
  }
}

/** Reconnects after a failed watch connection; one more failure in a row (the 9th) fails the wait. */
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
 * more than {@link MAX_WATCH_FAILURES} times in a row).
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
    for (const g of this.groups) void this.follow(g);
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

  /**
   * Keeps a group's watch open until the wait is over, each connection resumed from the last
   * resourceVersion seen. The reconnects go through withRetries: a connection that fails or ends
   * before it delivers anything is one failed attempt (bounded, exponential backoff with jitter);
   * a routine end resumes at once and counts nothing; a connection that delivered events starts the
   * count afresh. 410 Gone lists again; any other 4xx but 408 and 429 fails the wait at once.
   */
  private async follow(g: WatchGroup): Promise<void> {
    // A connection that delivered events, then failed: the first failure of a fresh count.
    let droppedAfterEvents: WatchEnd | undefined;
    try {
      while (!this.finished) {
        await withRetries(
          async (attempt) => {
            if (droppedAfterEvents) {
              const end = droppedAfterEvents;
              droppedAfterEvents = undefined;
              throw new WatchDropped(end, attempt + 1);
            }
            for (;;) {
              const end = await this.openWatch(g);
              if (!end) return;
              const status: number | undefined = end.err?.statusCode;
              if (end.gone || status === 410) {
                this.stats.relists++;
                this.options.log?.(`watch ${g.label}: resourceVersion ${g.resourceVersion} is gone (410); listing again`);
                await this.list(g);
                if (end.events > 0) return;
                continue;
              }
              if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
                throw new ExternalError(`cannot watch ${g.label}: HTTP ${status} ${end.err?.message ?? ''}`.trim());
              }
              this.stats.reconnects++;
              this.options.log?.(`watch ${g.label} ${end.err ? `dropped (${errorMessage(end.err)})` : 'ended'}; resuming from resourceVersion ${g.resourceVersion}`);
              // client-node's Watch aborts a connection after 30 s without data (its inactivity
              // timeout) and the server ends watches after a while: resuming those at once is routine.
              const quiet = end.connected && (end.err?.name === 'TimeoutError' || (!end.err && (end.events > 0 || end.lived > 1000)));
              if (!quiet && end.events > 0) droppedAfterEvents = end;
              else if (!quiet) throw new WatchDropped(end, attempt + 1);
              if (end.events > 0) return;
            }
          },
          {
            what: `watch ${g.label}`,
            retries: MAX_WATCH_FAILURES,
            baseDelayMs: 250,
            maxDelayMs: 5_000,
            isRetryable: (err) => err instanceof WatchDropped,
            signal: this.stop.signal,
          },
        );
      }
    } catch (err) {
      this.fail(err instanceof WatchDropped ? new ExternalError(`lost the watch on ${g.label}: ${err.inARow} attempts in a row failed; last: ${err.message}`) : err);
    }
  }

  /** One watch connection from the group's last resourceVersion: resolves when it ends, with how (undefined once the wait is over). */
  private async openWatch(g: WatchGroup): Promise<WatchEnd | undefined> {
    if (this.finished) return undefined;
    const connection = ++g.connection;
    const opened = Date.now();
    let gone = false;
    let events = 0;
    let ended = false;
    let ready = false;
    let settle!: (end: WatchEnd | undefined) => void;
    const whenEnded = new Promise<WatchEnd | undefined>((resolve) => (settle = resolve));
    const onEvent = (type: string, obj: any) => {
      if (this.finished || g.connection !== connection) return;
      events++;
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
      settle(this.finished || g.connection !== connection ? undefined : { err, gone, events, connected: ready, lived: Date.now() - opened });
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
    return whenEnded;
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
