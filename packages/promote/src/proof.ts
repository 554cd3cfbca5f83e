/** The proof that images are fit to promote: staging's release record, its health now, and its soak. */
import { describeObject, type KubeObject, type ObjectRef, parseImage } from '@kubeline/k8s';
import { hasRollout, type KubeClient, type ReleaseRecord, ReleaseStore, rolloutStatus, selectorString } from '@kubeline/kube';
import { formatDuration, log, sleep, StepFailure } from '@kubeline/toolkit';

/** Where the images were verified: the staging release, in the cluster `client` talks to. */
export interface StagingRelease {
  client: KubeClient;
  namespace: string;
  release: string;
  /** The API server, for the proof (`https://…`). */
  server: string;
}

export interface ProofOptions {
  /** How long staging must have been live and healthy; restarts must not grow in that time. */
  soakMs: number;
  /** Digests to promote (`repo@sha256:…`), when given instead of read from staging's latest record. */
  images?: readonly string[];
  /** With `images`: still demand a staging record that ran exactly those digests (default true). */
  requireProven: boolean;
  signal?: AbortSignal;
  now?: () => number;
}

/** One check the proof passed. */
export interface ProofCheck {
  name: string;
  detail: string;
}

/** What promote records and outputs: where the images come from, and why they are trusted. */
export interface Proof {
  /** The images promoted, each `repository@sha256:…`. */
  images: string[];
  staging: {
    server: string;
    namespace: string;
    release: string;
    revision: number;
    status: string;
    commit?: string;
    runUrl?: string;
    /** When that revision became healthy (its record's status time). */
    healthySince: string;
  };
  checks: ProofCheck[];
  provenAt: string;
}

/**
 * promote refuses: the images are not proven fit (no staging record, unhealthy, never ran, not
 * stable, a production bundle with other images). Status `refused`, unlike a failure on the way.
 */
export class Refusal extends StepFailure {}

/** The digest of an image reference, when it has one. */
export const digestOf = (image: string): string | undefined => parseImage(image).digest;

const sameImages = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

function describeLive(record: ReleaseRecord | undefined): string {
  if (!record) return 'nothing deployed';
  return `revision ${record.revision} (${record.images.join(', ') || 'no images'})`;
}

/**
 * Reads staging's release records and proves the images: the revision is `deployed` (its wait
 * passed), its workloads are available now, staging has been healthy for `soakMs` (waiting out
 * the rest if needed) and no pod restarted in that time. Refusals (`Refusal`) name what staging
 * runs instead; a cancellation during the soak is a plain StepFailure.
 */
export async function proveStaging(staging: StagingRelease, options: ProofOptions): Promise<Proof> {
  const now = options.now ?? Date.now;
  const where = `release ${staging.release} in namespace ${staging.namespace}`;
  const store = new ReleaseStore(staging.client, staging.namespace, staging.release);
  const records = await store.list();
  if (records.length === 0) {
    throw new Refusal(`staging has no record of ${where}: deploy it there first (deploy with release: ${staging.release}, namespace: ${staging.namespace}), or check from-namespace and from-release.`);
  }
  const live = records.find((r) => r.status === 'deployed');
  const record = options.images ? recordOf(records, options.images, where, live, options.requireProven) : latestRecord(records, where, live);
  if (!record) return unproven(options.images ?? [], staging, now);

  const digests = record.images.filter((i) => digestOf(i));
  const unpinned = record.images.filter((i) => !digestOf(i));
  if (unpinned.length) {
    throw new Refusal(
      `staging revision ${record.revision} runs ${unpinned.join(', ')} by tag, not by digest: there is no exact image to promote. Render staging with images: name=ref@sha256:… (the image-ref output of push-image).`,
    );
  }
  const checks: ProofCheck[] = [{ name: 'deployed', detail: `revision ${record.revision} passed its wait and is ${record.status}` }];
  const healthySince = Date.parse(record.updated ?? record.time);
  const bundle = await store.bundle(record);
  const workloads = bundle.filter((o) => hasRollout(String(o.apiVersion), String(o.kind)));

  if (record.status === 'deployed') {
    const restartsBefore = await restarts(staging.client, workloads, staging.namespace);
    await checkAvailable(staging.client, workloads, staging.namespace, record, checks);
    const soaked = now() - healthySince;
    if (options.soakMs > 0) {
      if (soaked < options.soakMs) {
        const rest = options.soakMs - soaked;
        log.info(`staging revision ${record.revision} has been healthy for ${formatDuration(soaked)}; soaking ${formatDuration(rest)} more (soak ${formatDuration(options.soakMs)}).`);
        await sleep(rest, options.signal);
        if (options.signal?.aborted) throw new StepFailure('cancelled while staging soaked; nothing was promoted.');
        await checkAvailable(staging.client, workloads, staging.namespace, record, checks);
      }
      const restartsAfter = await restarts(staging.client, workloads, staging.namespace);
      const grew = restartsAfter.filter((p) => p.count > (restartsBefore.find((b) => b.pod === p.pod)?.count ?? 0) || (p.lastRestart !== undefined && p.lastRestart > healthySince));
      if (grew.length) {
        throw new Refusal(
          `staging revision ${record.revision} is not stable: ${grew.map((p) => `pod ${p.pod} restarted (${p.count} restarts${p.lastRestart ? `, last at ${new Date(p.lastRestart).toISOString()}` : ''})`).join('; ')} within the soak of ${formatDuration(options.soakMs)}. Nothing was promoted.`,
        );
      }
      checks.push({ name: 'soak', detail: `healthy for ${formatDuration(Math.max(options.soakMs, soaked))} with no restarts (soak ${formatDuration(options.soakMs)})` });
    }
  } else {
    checks.push({ name: 'superseded', detail: `revision ${record.revision} was live and healthy, then superseded; staging now runs ${describeLive(live)}` });
  }
  return {
    images: options.images ? [...options.images] : digests,
    staging: {
      server: staging.server,
      namespace: staging.namespace,
      release: staging.release,
      revision: record.revision,
      status: record.status,
      commit: record.commit,
      runUrl: record.runUrl,
      healthySince: new Date(healthySince).toISOString(),
    },
    checks,
    provenAt: new Date(now()).toISOString(),
  };
}

/** Without `images`: the latest revision, which must be the deployed one. */
function latestRecord(records: readonly ReleaseRecord[], where: string, live: ReleaseRecord | undefined): ReleaseRecord {
  const latest = records[0];
  if (latest.status === 'deployed') return latest;
  const what = latest.status === 'pending' ? 'is still being deployed (or its deploy was cancelled)' : `is ${latest.status}`;
  throw new Refusal(
    `staging's latest revision ${latest.revision} of ${where} ${what}: its images (${latest.images.join(', ') || 'none'}) never proved healthy there. Staging runs ${describeLive(live)}. Fix staging first; nothing was promoted.`,
  );
}

/** With `images`: the newest record that ran exactly those digests and became healthy. */
function recordOf(records: readonly ReleaseRecord[], images: readonly string[], where: string, live: ReleaseRecord | undefined, requireProven: boolean): ReleaseRecord | undefined {
  const wanted = images.map((i) => digestOf(i) ?? '');
  const ran = (r: ReleaseRecord) => sameImages(r.images.map((i) => digestOf(i) ?? i), wanted);
  const healthy = records.find((r) => ran(r) && (r.status === 'deployed' || r.status === 'superseded'));
  if (healthy) return healthy;
  if (!requireProven) return undefined;
  const tried = records.find(ran);
  const history = tried ? `revision ${tried.revision} ran them and is ${tried.status}` : 'no revision ran exactly these digests';
  throw new Refusal(`${images.join(', ')} never proved healthy in staging (${where}): ${history}. Staging runs ${describeLive(live)}. Nothing was promoted.`);
}

/** require-proven: false and nothing in staging: a proof that says so. */
function unproven(images: readonly string[], staging: StagingRelease, now: () => number): Proof {
  log.warning(`require-proven is false: promoting ${images.join(', ')} without a staging record that ran them.`);
  return {
    images: [...images],
    staging: { server: staging.server, namespace: staging.namespace, release: staging.release, revision: 0, status: 'unproven', healthySince: '' },
    checks: [{ name: 'unproven', detail: 'require-proven: false; no staging record ran these digests' }],
    provenAt: new Date(now()).toISOString(),
  };
}

/** Every workload of the record is available now, and runs the recorded images. */
async function checkAvailable(client: KubeClient, workloads: readonly KubeObject[], namespace: string, record: ReleaseRecord, checks: ProofCheck[]): Promise<void> {
  const problems: string[] = [];
  for (const object of workloads) {
    const ref = refIn(object, namespace);
    const current = await client.get(ref);
    if (!current) {
      problems.push(`${describeObject(ref)} is gone`);
      continue;
    }
    const status = rolloutStatus(current);
    if (status.state !== 'ready') problems.push(`${describeObject(ref)}: ${status.reason}`);
  }
  if (problems.length) {
    throw new Refusal(`staging revision ${record.revision} is not healthy now: ${problems.join('; ')}. Nothing was promoted.`);
  }
  if (!checks.some((c) => c.name === 'available')) checks.push({ name: 'available', detail: `${workloads.length} workload(s) available now` });
}

interface PodRestarts {
  pod: string;
  count: number;
  /** When a container of the pod last terminated (ms), from the kubelet's lastState. */
  lastRestart?: number;
}

/** Restart counts of the pods the workloads select. */
async function restarts(client: KubeClient, workloads: readonly KubeObject[], namespace: string): Promise<PodRestarts[]> {
  const out: PodRestarts[] = [];
  for (const object of workloads) {
    const selector = selectorString((object.spec as { selector?: unknown } | undefined)?.selector);
    if (!selector) continue;
    const ref = refIn(object, namespace);
    for (const pod of await client.list('v1', 'Pod', { namespace: ref.namespace, labelSelector: selector })) {
      const statuses = ((pod.status as { containerStatuses?: unknown[] } | undefined)?.containerStatuses ?? []) as Array<{
        restartCount?: number;
        lastState?: { terminated?: { finishedAt?: string } };
      }>;
      const finished = statuses.map((c) => Date.parse(c.lastState?.terminated?.finishedAt ?? '')).filter((t) => !Number.isNaN(t));
      out.push({
        pod: `${ref.namespace}/${(pod.metadata as { name?: string }).name}`,
        count: statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0),
        lastRestart: finished.length ? Math.max(...finished) : undefined,
      });
    }
  }
  return out;
}

function refIn(object: KubeObject, namespace: string): ObjectRef {
  const metadata = (object.metadata ?? {}) as { name?: string; namespace?: string };
  return { apiVersion: String(object.apiVersion), kind: String(object.kind), namespace: metadata.namespace || namespace, name: String(metadata.name) };
}
