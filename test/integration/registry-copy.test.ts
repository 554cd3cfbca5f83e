// promote's registry mode against the test bed's two real registries: images built from
// local/busybox:1 and pushed to the registry without auth, an OCI index assembled over the API,
// then copied within a registry (blob mounts: only manifests move), across registries (only
// missing blobs move), through a fault proxy (503, 429 with Retry-After, a reset mid-upload),
// and into the errors a user must be able to act on.
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyImage, type RegistryCopyOptions } from '@kubeline/docker';
import { testbed, uniqueName } from '../support/actions';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy';

const bed = testbed();
const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();
const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
const basic = `Basic ${Buffer.from(`${bed.user}:${bed.password}`).toString('base64')}`;
const authFor = (registry: string) => (registry === bed.registry ? { authorization: basic } : {});
/** The auth registry's credentials for both roles; the other registry is anonymous. */
const credentials: RegistryCopyOptions['credentials'] = (registry) => (registry === bed.registry ? { username: bed.user, password: bed.password } : undefined);

/** Straight from the registry's API, independent of the code under test. */
async function manifestAt(registry: string, repository: string, reference: string): Promise<{ digest: string; bytes: Buffer; mediaType: string } | undefined> {
  const r = await fetch(`http://${registry}/v2/${repository}/manifests/${reference}`, { headers: { accept: ACCEPT, ...authFor(registry) } });
  if (!r.ok) return undefined;
  const bytes = Buffer.from(await r.arrayBuffer());
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes, mediaType: r.headers.get('content-type') ?? '' };
}

type Blob = { digest: string; size: number };
async function blobsOf(registry: string, repository: string, digest: string): Promise<Blob[]> {
  const m = (await manifestAt(registry, repository, digest))!;
  const doc = JSON.parse(m.bytes.toString('utf8')) as { config: Blob; layers: Blob[] };
  return [doc.config, ...doc.layers];
}

interface Pushed {
  repository: string;
  digest: string;
  ref: string;
  manifestBytes: number;
  blobs: Blob[];
}

const work = mkdtempSync(join(tmpdir(), 'kubeline-copy-'));
const localTags: string[] = [];

/** A small image (busybox + a layer of random bytes) built and pushed to the registry without auth. */
async function pushImage(repository: string, tag: string, layerBytes = 300_000): Promise<Pushed> {
  const context = mkdtempSync(join(work, 'ctx-'));
  writeFileSync(join(context, 'payload'), randomBytes(layerBytes));
  writeFileSync(join(context, 'Dockerfile'), `FROM ${bed.busybox}\nCOPY payload /payload\n`);
  const ref = `${bed.registryNoAuth}/${repository}:${tag}`;
  docker('build', '-q', '-t', ref, context);
  localTags.push(ref);
  docker('push', ref);
  const m = (await manifestAt(bed.registryNoAuth, repository, tag))!;
  return { repository, digest: m.digest, ref: `${bed.registryNoAuth}/${repository}@${m.digest}`, manifestBytes: m.bytes.length, blobs: await blobsOf(bed.registryNoAuth, repository, m.digest) };
}

let single: Pushed;
let index: { repository: string; digest: string; ref: string; bytes: number; children: Pushed[] };

beforeAll(async () => {
  const repository = uniqueName('copy-src');
  single = await pushImage(repository, 'v1');
  // A two-platform OCI index over two single-platform manifests (the engine here has no buildx).
  const multi = uniqueName('copy-multi');
  const children = [await pushImage(multi, 'amd64'), await pushImage(multi, 'arm64')];
  const body = Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: children.map((c, i) => ({
          mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
          digest: c.digest,
          size: c.manifestBytes,
          platform: { os: 'linux', architecture: i === 0 ? 'amd64' : 'arm64' },
        })),
      },
      null,
      3, // unusual indentation: any re-serialisation would change the digest
    ),
  );
  const put = await fetch(`http://${bed.registryNoAuth}/v2/${multi}/manifests/multi`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
    body,
  });
  expect(put.status).toBe(201);
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  index = { repository: multi, digest, ref: `${bed.registryNoAuth}/${multi}@${digest}`, bytes: body.length, children };
});

afterAll(() => {
  for (const tag of localTags) execFileSync('docker', ['rmi', '--force', tag], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
});

const sum = (xs: Array<number | Blob>) => xs.reduce<number>((a, b) => a + (typeof b === 'number' ? b : b.size), 0);

test('within one registry: every blob is mounted, only the manifest is sent, the tags resolve to the source digest', async () => {
  const prod = uniqueName('copy-prod');
  const targets = [`${bed.registryNoAuth}/${prod}:production`, `${bed.registryNoAuth}/${prod}:1.4.2`];
  const r = await copyImage(single.ref, targets);
  expect(r).toMatchObject({ source: single.ref, digest: single.digest, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', platforms: [] });
  expect(r.targets[0]).toMatchObject({ ref: targets[0], digest: single.digest, mounted: single.blobs.length, copied: 0, skipped: 0, manifests: 1 });
  // The second tag of the same repository: the blobs are known to be there.
  expect(r.targets[1]).toMatchObject({ ref: targets[1], digest: single.digest, mounted: 0, copied: 0, skipped: single.blobs.length, manifests: 1 });
  expect(r.bytesSent).toBe(2 * single.manifestBytes);
  for (const tag of ['production', '1.4.2']) expect((await manifestAt(bed.registryNoAuth, prod, tag))?.digest).toBe(single.digest);
});

test('across registries: blobs are copied once, a second copy skips them all; with auth, a mount within the target registry', async () => {
  const staging = uniqueName('copy-staging');
  const first = await copyImage(single.ref, [`${bed.registry}/${staging}:staging`], { credentials });
  expect(first.targets[0]).toMatchObject({ mounted: 0, copied: single.blobs.length, skipped: 0, digest: single.digest });
  expect(first.bytesSent).toBe(sum(single.blobs) + single.manifestBytes);
  expect((await manifestAt(bed.registry, staging, 'staging'))?.digest).toBe(single.digest);

  const again = await copyImage(single.ref, [`${bed.registry}/${staging}:again`], { credentials });
  expect(again.targets[0]).toMatchObject({ mounted: 0, copied: 0, skipped: single.blobs.length, digest: single.digest });
  expect(again.bytesSent).toBe(single.manifestBytes);

  // The promote step proper: staging to production in the registry with auth.
  const prod = uniqueName('copy-prod');
  const promoted = await copyImage(`${bed.registry}/${staging}@${single.digest}`, [`${bed.registry}/${prod}:production`], { credentials });
  expect(promoted.targets[0]).toMatchObject({ mounted: single.blobs.length, copied: 0, skipped: 0, digest: single.digest });
  expect(promoted.bytesSent).toBe(single.manifestBytes);
});

test('chunked uploads (Content-Range PATCHes) give the same digest', async () => {
  const repo = uniqueName('copy-chunked');
  const r = await copyImage(single.ref, [`${bed.registry}/${repo}:1`], { credentials, chunkSize: 64 * 1024 });
  expect(r.targets[0]).toMatchObject({ copied: single.blobs.length, digest: single.digest });
  expect(r.bytesSent).toBe(sum(single.blobs) + single.manifestBytes);
  expect((await manifestAt(bed.registry, repo, '1'))?.digest).toBe(single.digest);
});

test('an index: every child manifest and its blobs are copied, the index keeps its exact bytes and digest', async () => {
  const repo = uniqueName('copy-index');
  const r = await copyImage(index.ref, [`${bed.registry}/${repo}:production`], { credentials });
  expect(r).toMatchObject({ digest: index.digest, mediaType: 'application/vnd.oci.image.index.v1+json', platforms: ['linux/amd64', 'linux/arm64'] });
  // busybox's layer is shared by both children: copied once.
  const blobs = new Map(index.children.flatMap((c) => c.blobs).map((b) => [b.digest, b]));
  expect(blobs.size).toBe(5);
  expect(r.targets[0]).toMatchObject({ manifests: 3, copied: 5, skipped: 0, digest: index.digest });
  expect(r.bytesSent).toBe(sum([...blobs.values()]) + index.bytes + sum(index.children.map((c) => c.manifestBytes)));
  const there = await manifestAt(bed.registry, repo, 'production');
  expect(there?.digest).toBe(index.digest);
  expect(there?.mediaType).toBe('application/vnd.oci.image.index.v1+json');
  for (const child of index.children) expect((await manifestAt(bed.registry, repo, child.digest))?.digest).toBe(child.digest);

  // And within that registry: mounts only, the three manifests sent.
  const prod = uniqueName('copy-index-prod');
  const m = await copyImage(`${bed.registry}/${repo}@${index.digest}`, [`${bed.registry}/${prod}:production`], { credentials });
  expect(m.targets[0]).toMatchObject({ copied: 0, manifests: 3, mounted: 5 });
  expect(m.bytesSent).toBe(index.bytes + sum(index.children.map((c) => c.manifestBytes)));
  expect((await manifestAt(bed.registry, prod, 'production'))?.digest).toBe(index.digest);
});

describe('errors a user can act on', () => {
  test('a source that does not exist names the reference and the registry answer', async () => {
    const missing = `${bed.registryNoAuth}/${single.repository}@sha256:${'0'.repeat(64)}`;
    await expect(copyImage(missing, [`${bed.registryNoAuth}/${uniqueName('copy-x')}:1`])).rejects.toThrow(
      `source image ${missing} not found: ${bed.registryNoAuth} answered 404 MANIFEST_UNKNOWN: manifest unknown`,
    );
    const noRepo = `${bed.registryNoAuth}/${uniqueName('no-such')}:1.0`;
    await expect(copyImage(noRepo, [`${bed.registryNoAuth}/${uniqueName('copy-x')}:1`])).rejects.toThrow(`source image ${noRepo} not found: ${bed.registryNoAuth} answered 404`);
  });

  test('a wrong target password names the registry and the access needed, never the password', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const err = (await copyImage(single.ref, [`${bed.registry}/${uniqueName('copy-denied')}:1`], {
      credentials: (registry, role) => (role === 'target' ? { username: bed.user, password: wrong } : undefined),
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(new RegExp(`^the credentials given for ${bed.registry.replace(/\./g, '\\.')} were refused \\(401 Unauthorized\\): copying to ${bed.registry.replace(/\./g, '\\.')}/copy-denied-\\w+ needs credentials for .* with pull and push access to copy-denied-\\w+$`));
    expect(err.message).not.toContain(wrong);
    expect(JSON.stringify(err)).not.toContain(wrong);

    const none = (await copyImage(single.ref, [`${bed.registry}/${uniqueName('copy-denied')}:1`]).catch((e: unknown) => e)) as Error;
    expect(none.message).toMatch(`no credentials were given for ${bed.registry} (401`);
  });

  test('a target naming another digest is refused before anything is written', async () => {
    const repo = uniqueName('copy-digest');
    await expect(copyImage(single.ref, [`${bed.registryNoAuth}/${repo}@sha256:${'1'.repeat(64)}`])).rejects.toThrow(/names a digest, but the source is sha256:/);
    expect(await manifestAt(bed.registryNoAuth, repo, single.digest)).toBeUndefined();
  });
});

describe('transient failures are retried (fault proxy in front of the target registry)', () => {
  let proxy: FaultProxy;
  let warnings: string[];
  beforeAll(async () => {
    proxy = await startFaultProxy(bed.registryNoAuth);
  });
  afterAll(() => proxy.close());
  beforeEach(() => {
    warnings = [];
    const write = process.stdout.write.bind(process.stdout);
    jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (typeof chunk === 'string' && chunk.startsWith('::warning::')) warnings.push(chunk.trim());
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write);
  });
  afterEach(() => {
    proxy.clearFaults();
    jest.restoreAllMocks();
  });

  test('503 on a blob upload and on the manifest, then success', async () => {
    const repo = uniqueName('copy-503');
    proxy.addFault({ method: 'PATCH', path: new RegExp(`/v2/${repo}/blobs/uploads/`), status: 503, times: 1 });
    proxy.addFault({ method: 'PUT', path: new RegExp(`/v2/${repo}/manifests/`), status: 503, times: 1 });
    const r = await copyImage(single.ref, [`${proxy.host}/${repo}:1`], { retries: 3 });
    expect(r.targets[0]).toMatchObject({ copied: single.blobs.length, digest: single.digest });
    expect(proxy.requests.filter((q) => q.faulted).map((q) => `${q.method} ${q.status}`)).toEqual(['PATCH 503', 'PUT 503']);
    expect(warnings.join('\n')).toMatch(/copying blob sha256:\w+ .* failed .*answered 503 UNAVAILABLE.*retry 1\/3/);
    expect(warnings.join('\n')).toMatch(/writing manifest .* failed .*503.*retry 1\/3/);
    expect((await manifestAt(bed.registryNoAuth, repo, '1'))?.digest).toBe(single.digest);
  });

  test('429 with Retry-After: waits as asked, then succeeds', async () => {
    const repo = uniqueName('copy-429');
    proxy.addFault({ method: 'HEAD', path: new RegExp(`/v2/${repo}/blobs/`), status: 429, headers: { 'Retry-After': '2' }, times: 1 });
    const started = Date.now();
    const r = await copyImage(single.ref, [`${proxy.host}/${repo}:1`]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(r.targets[0].digest).toBe(single.digest);
    expect(warnings.join('\n')).toMatch(/answered 429 Too Many Requests\).*retry 1\/4 in 2\.0 s as the server asked \(Retry-After\)/);
  });

  test('a connection reset on a blob upload: the blob is copied again from the start', async () => {
    const repo = uniqueName('copy-reset');
    proxy.addFault({ method: 'PATCH', path: new RegExp(`/v2/${repo}/blobs/uploads/`), reset: true, times: 1 });
    const r = await copyImage(single.ref, [`${proxy.host}/${repo}:1`]);
    expect(r.targets[0]).toMatchObject({ copied: single.blobs.length, digest: single.digest });
    expect(proxy.requests.some((q) => q.faulted)).toBe(true);
    expect(warnings.join('\n')).toMatch(/copying blob .* failed .*retry 1\/4/);
  });
});
