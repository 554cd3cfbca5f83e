/**
 * The checks between steps: the new pods Ready, their restarts not growing, no new Warning events
 * about them, and the user's `check` command passing, for the step's whole duration.
 */
import { errorMessage, formatDuration, log, sleep } from '@kubeline/toolkit';
import { spawn } from 'node:child_process';
import type { KubeClient } from '../client';

/** Where the new pods are and what the step is, for the checks. */
export interface StepWatch {
  namespace: string;
  /** Label selectors of the new version's pods (one per canary or green Deployment). */
  selectors: string[];
  /** The pods each selector must find Ready. */
  replicas: number[];
  /** 1-based step number, and the new version's weight in percent. */
  step: number;
  weight: number;
  strategy: string;
}

/** How long and how often to check, and the user's command. */
export interface ObserveOptions {
  durationMs: number;
  check: string;
  checkIntervalMs: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** How often the pods and events are looked at (default 1 s). */
  pollMs?: number;
}

/** A check that failed: what and why, in one line. */
export interface CheckFailure {
  check: 'ready' | 'restarts' | 'events' | 'command';
  message: string;
}

/** The Warning reasons that mean the new pods are not well (others still count, named by their reason). */
const TELLING = ['BackOff', 'Unhealthy', 'OOMKilling', 'FailedMount', 'Failed'];

interface PodView {
  name: string;
  ready: boolean;
  restarts: number;
  waiting?: string;
}

async function podsOf(client: KubeClient, namespace: string, selector: string): Promise<PodView[]> {
  const items = (await client.list('v1', 'Pod', { namespace, labelSelector: selector })) as Array<any>;
  return items
    .filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded')
    .map((p) => {
      const statuses: any[] = p.status?.containerStatuses ?? [];
      const ready = (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
      const waiting = statuses.map((s) => s.state?.waiting?.reason).find(Boolean);
      return { name: String(p.metadata?.name), ready, restarts: statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0), waiting };
    });
}

/** The pods' state as the baseline of a step: restarts per pod. */
export async function baseline(client: KubeClient, watch: StepWatch): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const selector of watch.selectors) for (const p of await podsOf(client, watch.namespace, selector)) out.set(p.name, p.restarts);
  return out;
}

/**
 * One look at the new pods: every one Ready and as many as wanted, no restart since `restarts`
 * was taken (a pod not seen then counts from 0), no Warning event about them since `since`.
 */
export async function podHealth(client: KubeClient, watch: StepWatch, restarts: Map<string, number>, since: number): Promise<CheckFailure | undefined> {
  const names = new Set<string>();
  for (const [i, selector] of watch.selectors.entries()) {
    const pods = await podsOf(client, watch.namespace, selector);
    for (const p of pods) names.add(p.name);
    const grew = pods.find((p) => p.restarts > (restarts.get(p.name) ?? 0));
    if (grew) return { check: 'restarts', message: `pod ${grew.name} restarted (${grew.restarts} restart${grew.restarts === 1 ? '' : 's'}${grew.waiting ? `, ${grew.waiting}` : ''})` };
    const notReady = pods.filter((p) => !p.ready);
    if (notReady.length) return { check: 'ready', message: `pod ${notReady[0].name} is not Ready${notReady[0].waiting ? ` (${notReady[0].waiting})` : ''}` };
    if (pods.length < watch.replicas[i]) return { check: 'ready', message: `${pods.length} of ${watch.replicas[i]} new pods (${selector}) are there` };
  }
  const events = (await client.list('v1', 'Event', { namespace: watch.namespace, fieldSelector: 'type=Warning' })) as Array<any>;
  const fresh = events.filter((e) => {
    if (e.involvedObject?.kind !== 'Pod' || !names.has(e.involvedObject?.name)) return false;
    const at = Date.parse(e.lastTimestamp ?? e.series?.lastObservedTime ?? e.eventTime ?? e.firstTimestamp ?? '');
    return Number.isFinite(at) && at >= since - 1000;
  });
  fresh.sort((a, b) => TELLING.indexOf(b.reason) - TELLING.indexOf(a.reason));
  const e = fresh[0];
  if (e) return { check: 'events', message: `Warning ${e.reason} on pod ${e.involvedObject.name}: ${String(e.message ?? '').split('\n')[0]}` };
  return undefined;
}

/**
 * Watches a step for `durationMs`: the pod checks every `pollMs`, the command every
 * `checkIntervalMs` (and once at the end, so a step always runs it at least once). Resolves with
 * the first failure, or undefined when the whole duration passed.
 */
export async function observeStep(client: KubeClient, watch: StepWatch, options: ObserveOptions): Promise<CheckFailure | undefined> {
  const info = options.log ?? log.info;
  const since = Date.now();
  const restarts = await baseline(client, watch);
  const end = since + options.durationMs;
  const pollMs = options.pollMs ?? 1000;
  let nextCommand = since;
  for (;;) {
    if (options.signal?.aborted) return undefined;
    const health = await podHealth(client, watch, restarts, since);
    if (health) return health;
    if (options.check && Date.now() >= nextCommand) {
      const failed = await runCheck(options.check, watch, options);
      if (failed) return failed;
      nextCommand = Date.now() + options.checkIntervalMs;
    }
    if (Date.now() >= end) {
      const last = await podHealth(client, watch, restarts, since);
      if (!last && options.durationMs > 0) info(`step ${watch.step} (${watch.weight} %): checks passed for ${formatDuration(Date.now() - since)}.`);
      return last;
    }
    const wake = Math.min(end, options.check ? nextCommand : end, Date.now() + pollMs);
    await sleep(Math.max(0, wake - Date.now()), options.signal).catch(() => undefined);
  }
}

/** The last lines of the command's output kept for the report. */
const KEEP = 4000;

/**
 * Runs the user's `check` command through `sh -c` on the runner (it is a shell command by
 * design), with KUBELINE_STEP, KUBELINE_WEIGHT, KUBELINE_NAMESPACE and KUBELINE_STRATEGY set; its
 * output goes to the log. A non-zero exit, or running longer than the check interval (at least
 * 30 s), is a failure.
 */
export async function runCheck(command: string, watch: StepWatch, options: Pick<ObserveOptions, 'checkIntervalMs' | 'env' | 'signal' | 'log'>): Promise<CheckFailure | undefined> {
  const info = options.log ?? log.info;
  const timeoutMs = Math.max(30_000, options.checkIntervalMs);
  const env = {
    ...(options.env ?? process.env),
    KUBELINE_STEP: String(watch.step),
    KUBELINE_WEIGHT: String(watch.weight),
    KUBELINE_NAMESPACE: watch.namespace,
    KUBELINE_STRATEGY: watch.strategy,
  };
  return new Promise((resolve) => {
    let output = '';
    let settled = false;
    const child = spawn('sh', ['-c', command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (data: Buffer) => {
      const text = data.toString();
      output = (output + text).slice(-KEEP);
      for (const line of text.split('\n')) if (line) info(`  check: ${line}`);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const done = (result: CheckFailure | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ check: 'command', message: `check \`${command}\` did not finish within ${formatDuration(timeoutMs)}` });
    }, timeoutMs);
    const onAbort = () => {
      child.kill('SIGTERM');
      done(undefined);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => done({ check: 'command', message: `check \`${command}\` could not start: ${errorMessage(err)}` }));
    child.on('close', (code, signal) => {
      if (code === 0) return done(undefined);
      const last = output.trimEnd().split('\n').slice(-3).join(' | ');
      done({ check: 'command', message: `check \`${command}\` ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${last ? `: ${last}` : ''}` });
    });
  });
}
