/** One deploy at a time per release: a Lease taken, renewed in the background, released (also by the post step). */
import { clone, type KubeObject, type ObjectRef } from '@kubeline/k8s';
import { ConfigurationError, ExternalError, errorMessage, log, sleep, stepState } from '@kubeline/toolkit';
import { randomBytes } from 'node:crypto';
import { isConflict, isNotFound, type KubeApiError } from './api-errors';
import { createNamespace } from './apply';
import type { KubeClient } from './client';
import { MANAGED_BY, MANAGED_BY_LABEL } from './ownership';
import { RELEASE_LABEL } from './release';

/** GITHUB_STATE key of the held lock, for the post step. */
export const LOCK_STATE = 'kubeline-lock';
const RUN_URL_ANNOTATION = 'kubeline.dev/run-url';

/** Which lock `acquireLock` takes, and how long it waits and holds it. */
export interface LockOptions {
  namespace: string;
  release: string;
  /** Who holds it: default `<GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT>-<random>`. */
  identity?: string;
  /** Shown to a deploy that waits for this one. */
  runUrl?: string;
  /** Create the namespace when it does not exist (`create-namespace`); otherwise that is an error. */
  createNamespace?: boolean;
  /** How long the lease holds without renewal; default 60 s. A crashed holder's lock expires after it. */
  leaseDurationSeconds?: number;
  /** Renewal period; default a third of the duration. */
  renewEveryMs?: number;
  /** How long to wait for another deploy's lock (`lock-timeout`); default 10 min. */
  timeoutMs?: number;
  /** How often to look again while waiting; default 2 s. */
  pollMs?: number;
  log?: (line: string) => void;
  /** Called once if the lock is lost (a renewal found another holder, or failed for a whole lease duration). */
  onLost?: (reason: string) => void;
  saveState?: (name: string, value: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** What the post step needs to release a lock the main step could not (cancelled run). */
export interface LockState {
  namespace: string;
  name: string;
  identity: string;
}

/** A held lock: renewed in the background until released. */
export interface HeldLock extends LockState {
  /** Set when the lock was lost; the deploy should stop changing things. */
  readonly lost: string | undefined;
  /** Stops renewing and gives the lock up (deletes the Lease if still ours). True when it did. */
  release(): Promise<boolean>;
  /** Reads the Lease now: undefined while it is still ours, else why it is lost (and it is marked lost). */
  verify(): Promise<string | undefined>;
}

/** The lock could not be had within `lock-timeout`. */
export class LockTimeoutError extends ExternalError {}

/** The name of a release's Lease. */
const leaseName = (release: string): string => `kubeline-${release}`;

/** `<run id>-<attempt>-<random>`: unique per run attempt, and readable in `kubectl get lease`. */
function lockIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return `${env.GITHUB_RUN_ID ?? 'local'}-${env.GITHUB_RUN_ATTEMPT ?? '1'}-${randomBytes(3).toString('hex')}`;
}

/** RFC 3339 with microseconds, the MicroTime the Lease API takes. */
export const microTime = (date: Date): string => date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

const specOf = (lease: KubeObject): LeaseSpec => (lease.spec ?? {}) as LeaseSpec;
const versionOf = (lease: KubeObject): string => String((lease.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? '');

/**
 * Whether a lease is expired at `now`: nobody holds it, or its last renewal plus its duration (and
 * a few seconds' grace for clock skew between runners) has passed.
 */
export function leaseExpired(spec: LeaseSpec, now: number, graceMs = 5_000): boolean {
  if (!spec.holderIdentity) return true;
  const renewed = Date.parse(spec.renewTime ?? spec.acquireTime ?? '');
  if (Number.isNaN(renewed)) return true;
  return renewed + (spec.leaseDurationSeconds ?? 60) * 1000 + graceMs < now;
}

const ago = (iso: string | undefined, now: number): string => {
  const t = Date.parse(iso ?? '');
  if (Number.isNaN(t)) return '?';
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 120 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
};

function holderText(lease: KubeObject, now: number): string {
  const spec = specOf(lease);
  const url = (lease.metadata as { annotations?: Record<string, string> } | undefined)?.annotations?.[RUN_URL_ANNOTATION];
  return `${spec.holderIdentity}${url ? ` (${url})` : ''} since ${spec.acquireTime ?? '?'} (${ago(spec.acquireTime, now)}), last renewed ${ago(spec.renewTime, now)}`;
}

/**
 * One deploy at a time per release: a Lease (coordination.k8s.io/v1) `kubeline-<release>` in the
 * namespace. Taken by creating it, or by updating it with its resourceVersion (optimistic
 * concurrency: of two runs taking it at once, one wins) when it is free or expired — a crashed or
 * cancelled run's lock expires `leaseDurationSeconds` after its last renewal, so nothing is ever
 * stuck. While another deploy holds it, this one waits up to `timeoutMs`, then fails naming the
 * holder and since when. Held, it is renewed every `renewEveryMs`; its identity goes to the state
 * (LOCK_STATE) so the post step can release it after a cancellation (`releaseLockFromState`).
 */
export async function acquireLock(client: KubeClient, options: LockOptions): Promise<HeldLock> {
  const info = options.log ?? log.info;
  const identity = options.identity ?? lockIdentity(options.env);
  const duration = options.leaseDurationSeconds ?? 60;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const pollMs = options.pollMs ?? 2_000;
  const ref: ObjectRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: options.namespace, name: leaseName(options.release) };
  const started = Date.now();
  let announced = '';

  const ours = (previous?: KubeObject): KubeObject => {
    const now = microTime(new Date());
    const transitions = previous ? (specOf(previous).leaseTransitions ?? 0) + 1 : 0;
    return {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: {
        name: ref.name,
        namespace: ref.namespace,
        labels: { [RELEASE_LABEL]: options.release, [MANAGED_BY_LABEL]: MANAGED_BY },
        annotations: options.runUrl ? { [RUN_URL_ANNOTATION]: options.runUrl } : {},
        ...(previous ? { resourceVersion: versionOf(previous) } : {}),
      },
      spec: { holderIdentity: identity, leaseDurationSeconds: duration, acquireTime: now, renewTime: now, leaseTransitions: transitions },
    };
  };

  let lease: KubeObject;
  for (;;) {
    const live = await client.get(ref);
    try {
      if (!live) {
        try {
          lease = await client.create(ours());
        } catch (err) {
          const missing = (err as KubeApiError).apiStatus?.details?.kind === 'namespaces';
          if (!isNotFound(err) || !missing) throw err;
          if (!options.createNamespace) {
            throw new ConfigurationError(`namespace "${options.namespace}" does not exist. Create it, or set create-namespace: true.`, 'namespace');
          }
          await createNamespace(client, options.namespace, options.release);
          info(`created namespace ${options.namespace} (create-namespace)`);
          continue;
        }
        break;
      }
      const spec = specOf(live);
      if (spec.holderIdentity === identity || leaseExpired(spec, Date.now())) {
        if (spec.holderIdentity && spec.holderIdentity !== identity) info(`The lock of release ${options.release} held by ${holderText(live, Date.now())} has expired: taking it over.`);
        lease = await client.replace(ours(live));
        break;
      }
      const holder = holderText(live, Date.now());
      if (Date.now() - started >= timeoutMs) {
        throw new LockTimeoutError(
          `release ${options.release} in namespace ${options.namespace} is locked by another deploy: ${holder}. Waited ${Math.round(timeoutMs / 1000)} s (lock-timeout). ` +
            `If that run is gone, its lock expires ${duration} s after its last renewal; otherwise raise lock-timeout, or serialise the deploys with a workflow concurrency group.`,
        );
      }
      if (spec.holderIdentity !== announced) {
        info(`Waiting for the lock of release ${options.release} (Lease ${options.namespace}/${ref.name}), held by ${holder}`);
        announced = spec.holderIdentity ?? '';
      }
    } catch (err) {
      // Someone else created or took it between our read and write: look again.
      if (!(isConflict(err) || isNotFound(err))) throw err;
      continue;
    }
    await sleep(Math.min(pollMs, Math.max(0, timeoutMs - (Date.now() - started)) + 10));
  }
  info(`Lock of release ${options.release} taken (Lease ${options.namespace}/${ref.name}, holder ${identity}).`);
  (options.saveState ?? stepState.save)(LOCK_STATE, JSON.stringify({ namespace: options.namespace, name: ref.name, identity } satisfies LockState));

  let lost: string | undefined;
  let released = false;
  let lastRenewed = Date.now();
  let renewing: Promise<void> = Promise.resolve();
  const loseIt = (reason: string) => {
    if (lost) return;
    lost = reason;
    clearInterval(timer);
    log.warning(`The lock of release ${options.release} is lost: ${reason}`);
    options.onLost?.(reason);
  };
  const renew = async (): Promise<void> => {
    try {
      const next = clone(lease);
      (next.spec as LeaseSpec).renewTime = microTime(new Date());
      try {
        lease = await client.replace(next);
      } catch (err) {
        if (!isConflict(err) && !isNotFound(err)) throw err;
        const live = await client.get(ref);
        if (!live || specOf(live).holderIdentity !== identity) {
          loseIt(live ? `it is now held by ${holderText(live, Date.now())}` : 'its Lease was deleted');
          return;
        }
        const again = clone(live);
        (again.spec as LeaseSpec).renewTime = microTime(new Date());
        lease = await client.replace(again);
      }
      lastRenewed = Date.now();
    } catch (err) {
      if (Date.now() - lastRenewed > duration * 1000) loseIt(`it could not be renewed for ${duration} s (${errorMessage(err)})`);
      else log.warning(`Renewing the lock of release ${options.release} failed (${errorMessage(err)}); trying again.`);
    }
  };
  const timer = setInterval(() => {
    renewing = renewing.then(renew);
  }, options.renewEveryMs ?? Math.round((duration * 1000) / 3));
  timer.unref();

  return {
    namespace: options.namespace,
    name: ref.name,
    identity,
    get lost() {
      return lost;
    },
    async verify() {
      if (lost) return lost;
      await renewing;
      const live = await client.get(ref);
      if (!live) loseIt('its Lease was deleted');
      else if (specOf(live).holderIdentity !== identity) loseIt(`it is now held by ${holderText(live, Date.now())}`);
      return lost;
    },
    async release() {
      clearInterval(timer);
      await renewing;
      if (lost || released) return false;
      released = true;
      return releaseLease(client, { namespace: options.namespace, name: ref.name, identity });
    },
  };
}

/** Deletes the Lease if `identity` still holds it (a resourceVersion precondition guards the check). */
async function releaseLease(client: KubeClient, state: LockState): Promise<boolean> {
  const ref: ObjectRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: state.namespace, name: state.name };
  for (let attempt = 0; attempt < 3; attempt++) {
    const live = await client.get(ref);
    if (!live || specOf(live).holderIdentity !== state.identity) return false;
    try {
      return await client.delete(ref, { resourceVersion: versionOf(live) });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  return false;
}

/**
 * The post step's half: releases the lock the main step saved in the state, if its run still holds
 * it (after a cancellation or a crash of the main step). Call it before `cleanupKubeconfig`.
 */
export async function releaseLockFromState(
  client: KubeClient,
  getState: (name: string) => string = stepState.get,
  info: (line: string) => void = log.info,
): Promise<boolean> {
  const raw = getState(LOCK_STATE);
  if (!raw) return false;
  let state: LockState;
  try {
    state = JSON.parse(raw) as LockState;
  } catch {
    return false;
  }
  const released = await releaseLease(client, state);
  if (released) info(`Released the lock Lease ${state.namespace}/${state.name} the deploy step left behind.`);
  return released;
}
