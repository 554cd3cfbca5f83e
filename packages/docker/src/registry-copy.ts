/**
 * promote's `registry` mode: the exact image proven in staging, copied registry to registry by its
 * manifest (or its index and every child) and its blobs, never rebuilt, never pulled. Within one
 * registry the blobs are mounted across repositories; across registries only the blobs the target
 * lacks are streamed from the source.
 */
import { ConfigurationError, ExternalError, log } from '@kubeline/toolkit';
import { RegistryClient, type RegistryCredentials, RegistryHttpError, type StoredManifest, splitReference, withRegistryRetries } from './registry';

/** A content descriptor of a manifest or index (OCI image spec). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  /** `blobs`: the config, then the layers, as the registry must hold them before the manifest. */
  | { kind: 'image'; mediaType: string; blobs: Descriptor[] };

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const IMAGE_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const SCHEMA1 = /^application\/vnd\.docker\.distribution\.manifest\.v1\+(pretty)?jws$|^application\/vnd\.docker\.distribution\.manifest\.v1\+json$/;
/** Layers a registry does not hold (Windows base layers, fetched from their `urls`): never copied. */
const NOT_DISTRIBUTED = /foreign|nondistributable/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const TAG = /^\w[\w.-]{0,127}$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

function descriptor(value: unknown, where: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (!d || typeof d.digest !== 'string' || !DIGEST.test(d.digest) || !Number.isSafeInteger(d.size) || (d.size as number) < 0) {
    throw new ExternalError(`${where}: a descriptor without a valid digest and size: ${JSON.stringify(value)?.slice(0, 200)}`);
  }
  return { mediaType: typeof d.mediaType === 'string' ? d.mediaType : '', digest: d.digest, size: d.size as number, ...(d.platform ? { platform: d.platform } : {}) };
}

/**
 * What a manifest or index refers to: the child manifests of an index, or the config and layers
 * of an image manifest (layers a registry does not distribute left out). `mediaType` is the one
 * the registry sent (else the document's own); schema 1 manifests are refused.
 */
export function parseManifest(bytes: Uint8Array, mediaType = '', where = 'manifest'): ParsedManifest {
  let doc: { mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown; blobs?: unknown; schemaVersion?: unknown };
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ExternalError(`${where} is not JSON (media type '${mediaType || 'none'}')`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ExternalError(`${where} is not a JSON object`);
  const type = mediaType || (typeof doc.mediaType === 'string' ? doc.mediaType : '');
  if (SCHEMA1.test(type) || doc.schemaVersion === 1) {
    throw new ExternalError(`${where} is a schema 1 manifest, which cannot be copied: push the image again with a current Docker or BuildKit`);
  }
  if (INDEX_TYPES.has(type) || (!IMAGE_TYPES.has(type) && Array.isArray(doc.manifests))) {
    if (!Array.isArray(doc.manifests)) throw new ExternalError(`${where}: an index (${type}) without a manifests list`);
    return { kind: 'index', mediaType: type, manifests: doc.manifests.map((m, i) => descriptor(m, `${where}, manifests[${i}]`)) };
  }
  // An image manifest, or an artifact manifest (config optional; the deprecated OCI artifact type says `blobs`).
  const layers = Array.isArray(doc.layers) ? doc.layers : Array.isArray(doc.blobs) ? doc.blobs : undefined;
  if (!IMAGE_TYPES.has(type) && !doc.config && !layers) throw new ExternalError(`${where}: neither an index nor an image manifest (media type '${type || 'none'}')`);
  const blobs = [
    ...(doc.config ? [descriptor(doc.config, `${where}, config`)] : []),
    ...(layers ?? []).map((l, i) => descriptor(l, `${where}, layers[${i}]`)).filter((l) => !NOT_DISTRIBUTED.test(l.mediaType)),
  ];
  return { kind: 'image', mediaType: type, blobs };
}

/** The same blobs once each, in first-seen order (platforms of an index often share layers). */
export function uniqueBlobs(blobs: Iterable<Descriptor>): Descriptor[] {
  const seen = new Map<string, Descriptor>();
  for (const b of blobs) if (!seen.has(b.digest)) seen.set(b.digest, b);
  return [...seen.values()];
}

export interface TransferPlan {
  /** Already in the target repository. */
  skip: Descriptor[];
  /** In the same registry: cross-repository mount, no bytes. */
  mount: Descriptor[];
  /** Streamed from the source. */
  copy: Descriptor[];
}

/** What each blob needs: nothing when the target has it, a mount within one registry, else a copy. */
export function planTransfer(blobs: Iterable<Descriptor>, present: ReadonlySet<string>, canMount: boolean): TransferPlan {
  const plan: TransferPlan = { skip: [], mount: [], copy: [] };
  for (const b of uniqueBlobs(blobs)) (present.has(b.digest) ? plan.skip : canMount ? plan.mount : plan.copy).push(b);
  return plan;
}

/** One manifest of the image, with what it needs in the target first. */
interface ImagePart extends StoredManifest {
  parsed: ParsedManifest;
}

/** The source image: its top manifest and, for an index, every child manifest, children first. */
interface SourceImage {
  top: ImagePart;
  children: ImagePart[];
}

export interface CopyTargetResult {
  /** The target reference as given. */
  ref: string;
  /** The digest the target reference resolves to now: the source's. */
  digest: string;
  /** Blobs mounted from the source repository (same registry), copied (streamed), already there. */
  mounted: number;
  copied: number;
  skipped: number;
  /** Manifests written (the children of an index that were missing, then the top one). */
  manifests: number;
  /** Bytes sent to this target: blobs and manifests. */
  bytes: number;
}

export interface RegistryCopyResult {
  /** The source reference as given, and its digest (also every target's). */
  source: string;
  digest: string;
  mediaType: string;
  /** `os/architecture[/variant]` of each child of an index; empty for a single manifest. */
  platforms: string[];
  targets: CopyTargetResult[];
  bytesSent: number;
}

export interface RegistryCopyOptions {
  /**
   * Credentials for a registry in a role: `source` reads (pull), `target` writes (pull and push
   * on the target repository, and pull on the source repository for a cross-repository mount).
   * Undefined: anonymous.
   */
  credentials?: (registry: string, role: 'source' | 'target') => RegistryCredentials | undefined;
  /** Attempts after the first on transient failures, per request (per blob for a copy). Default 4. */
  retries?: number;
  /** Blobs checked, mounted or copied at once. Default 4. */
  concurrency?: number;
  /** Upload in chunks of about this many bytes (Content-Range PATCHes) instead of one streaming PATCH. */
  chunkSize?: number;
  fetchImpl?: typeof fetch;
}

/** `n`, `size`: a count of bytes for the log. */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const platformName = (d: Descriptor): string =>
  [d.platform?.os ?? 'unknown', d.platform?.architecture ?? 'unknown', d.platform?.variant].filter(Boolean).join('/');

interface Ref {
  ref: string;
  registry: string;
  repository: string;
  reference: string;
}

function parseRef(ref: string, input: string): Ref {
  const trimmed = ref.trim();
  if (!trimmed) throw new ConfigurationError('an empty image reference', input);
  const { registry, repository, reference } = splitReference(trimmed);
  if (!REPOSITORY.test(repository)) {
    throw new ConfigurationError(`'${trimmed}' is not an image reference: repository '${repository}' must be lowercase letters, digits and separators`, input);
  }
  if (!(reference.includes(':') ? DIGEST.test(reference) : TAG.test(reference))) {
    throw new ConfigurationError(`'${trimmed}': '${reference}' is neither a tag (letters, digits, '_', '.', '-', at most 128) nor a digest (sha256:…)`, input);
  }
  return { ref: trimmed, registry, repository, reference };
}

/** The error for a 401/403 at a registry, naming what credentials the step needs there (never the credentials). */
function refused(err: unknown, client: RegistryClient, needs: string): unknown {
  if (!(err instanceof RegistryHttpError) || (err.status !== 401 && err.status !== 403)) return err;
  const which = client.authenticated ? `the credentials given for ${client.registry} were refused` : `no credentials were given for ${client.registry}`;
  return new RegistryHttpError(`${which} (${err.answer ?? err.status}): ${needs}`, err.status, undefined, undefined, err.answer);
}

async function readSource(client: RegistryClient, src: Ref): Promise<SourceImage> {
  const name = `${src.registry}/${src.repository}`;
  const read = async (reference: string, where: string): Promise<ImagePart> => {
    const stored = await client.getManifest(src.repository, reference);
    return { ...stored, parsed: parseManifest(stored.bytes, stored.mediaType, where) };
  };
  let top: ImagePart;
  try {
    top = await read(src.reference, `the manifest of ${src.ref}`);
  } catch (err) {
    if (err instanceof RegistryHttpError && err.status === 404) {
      throw new RegistryHttpError(`source image ${src.ref} not found: ${src.registry} answered ${err.answer ?? 404}`, 404, undefined, undefined, err.answer);
    }
    throw refused(err, client, `reading the source needs credentials for ${src.registry} with pull access to ${src.repository}`);
  }
  const children: ImagePart[] = [];
  const seen = new Set<string>([top.digest]);
  // An index may hold an index (rare): follow two levels down, children before their parent.
  const walk = async (index: ImagePart, depth: number): Promise<void> => {
    if (index.parsed.kind !== 'index') return;
    const fresh = index.parsed.manifests.filter((m) => !seen.has(m.digest) && seen.add(m.digest));
    const parts = await mapLimit(fresh, 4, async (m) => {
      try {
        return await read(m.digest, `manifest ${m.digest} of the index ${index.digest}`);
      } catch (err) {
        if (err instanceof RegistryHttpError && err.status === 404) {
          throw new RegistryHttpError(`source image ${src.ref}: its index names ${m.digest} (${platformName(m)}), which ${name} does not have`, 404);
        }
        throw err;
      }
    });
    for (const part of parts) {
      if (part.parsed.kind === 'index') {
        if (depth >= 2) throw new ExternalError(`source image ${src.ref}: indexes nested more than two deep`);
        await walk(part, depth + 1);
      }
      children.push(part);
    }
  };
  await walk(top, 1);
  return { top, children };
}

/**
 * Copies the image `source` (`registry/repo@sha256:…`, or a tag) to every target
 * (`registry/repo:tag`, or `registry/repo@<the same digest>`) without pulling or rebuilding it:
 * the manifest, or the index and every child manifest, PUT with their exact bytes and media type,
 * after the blobs they need. Blobs the target has are skipped; within one registry the others are
 * mounted from the source repository, across registries streamed from the source. Every target
 * is checked afterwards to resolve to the source's digest. Transient failures are retried.
 */
export async function copyImage(source: string, targets: readonly string[], options: RegistryCopyOptions = {}): Promise<RegistryCopyResult> {
  const src = parseRef(source, 'source');
  if (targets.length === 0) throw new ConfigurationError('no target to copy to', 'targets');
  const dests = targets.map((t) => parseRef(t, 'targets'));
  const retries = options.retries ?? 4;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const clients = new Map<string, RegistryClient>();
  const clientFor = (registry: string, role: 'source' | 'target'): RegistryClient => {
    const key = `${role} ${registry}`;
    let client = clients.get(key);
    if (!client) clients.set(key, (client = new RegistryClient(registry, options.credentials?.(registry, role), options.fetchImpl, { retries })));
    return client;
  };
  const from = clientFor(src.registry, 'source');
  const image = await readSource(from, src);
  const { top, children } = image;
  for (const d of dests) {
    if (d.reference.includes(':') && d.reference !== top.digest) {
      throw new ConfigurationError(`target ${d.ref} names a digest, but the source is ${top.digest}: give a tag (or the source's own digest)`, 'targets');
    }
  }
  const blobs = uniqueBlobs([top, ...children].flatMap((p) => (p.parsed.kind === 'image' ? p.parsed.blobs : [])));
  const platforms = top.parsed.kind === 'index' ? top.parsed.manifests.map(platformName) : [];
  log.info(
    `${src.ref}${src.reference === top.digest ? '' : ` is ${top.digest}`} (${top.mediaType}${platforms.length ? `, ${platforms.join(', ')}` : ''}), ` +
      `${blobs.length} blob${blobs.length === 1 ? '' : 's'}, ${formatBytes(blobs.reduce((n, b) => n + b.size, 0))}`,
  );

  /** Per target repository: the blobs and manifests known to be there, so a second tag costs no requests. */
  const known = new Map<string, Set<string>>();
  const results: CopyTargetResult[] = [];
  for (const d of dests) {
    const to = clientFor(d.registry, 'target');
    const repoKey = `${d.registry}/${d.repository}`;
    const there = known.get(repoKey) ?? new Set<string>();
    known.set(repoKey, there);
    const canMount = d.registry === src.registry && d.repository !== src.repository;
    const needs =
      `copying to ${repoKey} needs credentials for ${d.registry} with pull and push access to ${d.repository}` +
      (canMount ? ` (and pull access to ${src.repository}, for the cross-repository mount)` : '');
    const atTarget = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        throw refused(err, to, needs);
      }
    };
    const result: CopyTargetResult = { ref: d.ref, digest: '', mounted: 0, copied: 0, skipped: 0, manifests: 0, bytes: 0 };

    const unknown = blobs.filter((b) => !there.has(b.digest));
    const found = await atTarget(() => mapLimit(unknown, concurrency, (b) => to.hasBlob(d.repository, b.digest)));
    unknown.forEach((b, i) => found[i] && there.add(b.digest));
    const plan = planTransfer(blobs, there, canMount);
    result.skipped = plan.skip.length;

    const copyBlob = async (b: Descriptor, opened?: string): Promise<void> => {
      await withRegistryRetries(
        `copying blob ${b.digest} (${formatBytes(b.size)}) to ${repoKey}`,
        async (attempt) => {
          const location = attempt === 0 && opened ? opened : await atTarget(() => to.startUpload(d.repository));
          const blob = await from.getBlob(src.repository, b.digest).catch((err: unknown) => {
            throw refused(err, from, `reading the source needs credentials for ${src.registry} with pull access to ${src.repository}`);
          });
          if (blob.size !== undefined && blob.size !== b.size) {
            await blob.body.cancel().catch(() => undefined);
            throw new ExternalError(`blob ${b.digest} of ${src.ref}: ${src.registry} sends ${blob.size} bytes, the manifest says ${b.size}`);
          }
          try {
            // Not `result.bytes += await …`: that reads the sum before the wait, and parallel copies would lose bytes.
            const sent = await atTarget(() => to.uploadBlob(location, b.digest, blob.body, { size: b.size, chunkSize: options.chunkSize }));
            result.bytes += sent;
          } catch (err) {
            await blob.body.cancel().catch(() => undefined);
            throw err;
          }
        },
        retries,
      );
      result.copied++;
      there.add(b.digest);
    };

    await mapLimit(plan.mount, concurrency, async (b) => {
      const mount = await atTarget(() => to.mountBlob(d.repository, b.digest, src.repository));
      if (mount.mounted) {
        result.mounted++;
        there.add(b.digest);
      } else {
        log.debug(`${d.registry} did not mount ${b.digest} from ${src.repository}: copying it`);
        await copyBlob(b, mount.location);
      }
    });
    await mapLimit(plan.copy, concurrency, (b) => copyBlob(b));

    // Children first, by digest (an index may only name manifests the repository has), then the top.
    for (const child of children) {
      if (there.has(child.digest)) continue;
      if ((await atTarget(() => to.resolve(d.repository, child.digest))) !== child.digest) {
        const written = await atTarget(() => to.putManifest(d.repository, child.digest, child));
        if (written && written !== child.digest) throw mismatch(`${repoKey}@${child.digest}`, child.digest, written);
        result.manifests++;
        result.bytes += child.bytes.byteLength;
      }
      there.add(child.digest);
    }
    const written = await atTarget(() => to.putManifest(d.repository, d.reference, top));
    result.manifests++;
    result.bytes += top.bytes.byteLength;
    if (written && written !== top.digest) throw mismatch(d.ref, top.digest, written);
    const now = await atTarget(() => to.resolve(d.repository, d.reference));
    if (now !== top.digest) throw mismatch(d.ref, top.digest, now ?? 'nothing');
    there.add(top.digest);
    result.digest = now;
    results.push(result);
    log.info(
      `${d.ref}: ${top.digest}; blobs ${result.mounted} mounted, ${result.copied} copied, ${result.skipped} already there; ` +
        `${result.manifests} manifest${result.manifests === 1 ? '' : 's'} written; ${formatBytes(result.bytes)} sent`,
    );
  }
  return {
    source: src.ref,
    digest: top.digest,
    mediaType: top.mediaType,
    platforms,
    targets: results,
    bytesSent: results.reduce((n, r) => n + r.bytes, 0),
  };
}

function mismatch(ref: string, expected: string, actual: string): ExternalError {
  return new ExternalError(`${ref} resolves to ${actual} after the copy, not the source's ${expected}: the registry changed the manifest, so the image there is not the one proven`);
}
