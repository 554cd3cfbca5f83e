import { createHash } from 'node:crypto';
import { digestOf, parseManifest, planTransfer, RegistryClient, uniqueBlobs } from '@kubeline/docker';

const d = (c: string, size = 10, mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip') => ({ mediaType, digest: `sha256:${c.repeat(64)}`, size });
const json = (doc: unknown) => Buffer.from(JSON.stringify(doc));

describe('parseManifest: what a manifest or index needs in the target', () => {
  const config = d('c', 5, 'application/vnd.oci.image.config.v1+json');
  const image = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [d('a'), d('b')] };

  test.each([
    ['an OCI image manifest', image, 'application/vnd.oci.image.manifest.v1+json', [config, d('a'), d('b')]],
    ['a Docker v2 manifest', { ...image, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' }, 'application/vnd.docker.distribution.manifest.v2+json', [config, d('a'), d('b')]],
    ['no Content-Type: the document says', image, '', [config, d('a'), d('b')]],
    [
      'a Windows foreign layer is not the registry’s to copy',
      { ...image, layers: [d('a'), { ...d('f'), mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', urls: ['https://x'] }] },
      'application/vnd.oci.image.manifest.v1+json',
      [config, d('a')],
    ],
    ['an artifact with no config (the old OCI artifact type says blobs)', { mediaType: 'application/vnd.oci.artifact.manifest.v1+json', blobs: [d('a')] }, 'application/vnd.oci.artifact.manifest.v1+json', [d('a')]],
  ])('%s', (_name, doc, contentType, blobs) => {
    expect(parseManifest(json(doc), contentType)).toEqual({ kind: 'image', mediaType: (doc as { mediaType: string }).mediaType, blobs });
  });

  test.each([
    ['an OCI index', 'application/vnd.oci.image.index.v1+json'],
    ['a Docker manifest list', 'application/vnd.docker.distribution.manifest.list.v2+json'],
  ])('%s: its children, with their platforms', (_name, mediaType) => {
    const child = { ...d('1', 500, 'application/vnd.oci.image.manifest.v1+json'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } };
    const parsed = parseManifest(json({ schemaVersion: 2, mediaType, manifests: [child, d('2', 400, 'application/vnd.oci.image.manifest.v1+json')] }), mediaType);
    expect(parsed).toEqual({ kind: 'index', mediaType, manifests: [child, d('2', 400, 'application/vnd.oci.image.manifest.v1+json')] });
  });

  test.each([
    ['not JSON', Buffer.from('<html>'), 'text/html', /the manifest is not JSON/],
    ['schema 1', json({ schemaVersion: 1, fsLayers: [] }), 'application/vnd.docker.distribution.manifest.v1+prettyjws', /schema 1 manifest, which cannot be copied: push the image again/],
    ['a descriptor without a digest', json({ ...image, layers: [{ size: 3 }] }), '', /layers\[0\]: a descriptor without a valid digest and size/],
    ['a negative size', json({ ...image, config: { ...config, size: -1 } }), '', /config: a descriptor without a valid digest/],
    ['something else', json({ hello: 'world' }), 'application/json', /neither an index nor an image manifest/],
  ])('%s is refused with a reason', (_name, bytes, type, message) => {
    expect(() => parseManifest(bytes, type, 'the manifest')).toThrow(message);
  });
});

describe('planning the blobs of a target', () => {
  const blobs = [d('a'), d('b'), d('a'), d('c')];

  test('the same blob once (platforms share layers), in first-seen order', () => {
    expect(uniqueBlobs(blobs).map((b) => b.digest[7])).toEqual(['a', 'b', 'c']);
  });

  test.each([
    ['within one registry: mount what is missing', true, { skip: ['b'], mount: ['a', 'c'], copy: [] }],
    ['across registries: copy what is missing', false, { skip: ['b'], mount: [], copy: ['a', 'c'] }],
  ])('%s', (_name, canMount, expected) => {
    const plan = planTransfer(blobs, new Set([d('b').digest]), canMount);
    expect({ skip: plan.skip.map((b) => b.digest[7]), mount: plan.mount.map((b) => b.digest[7]), copy: plan.copy.map((b) => b.digest[7]) }).toEqual(expected);
  });

  test('everything present: nothing to move', () => {
    expect(planTransfer(blobs, new Set(blobs.map((b) => b.digest)), true)).toEqual({ skip: uniqueBlobs(blobs), mount: [], copy: [] });
  });
});

test('digestOf hashes the exact bytes with the algorithm asked for', () => {
  const bytes = Buffer.from('{"a": 1}');
  expect(digestOf(bytes)).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  expect(digestOf(bytes, `sha512:${'0'.repeat(128)}`)).toBe(`sha512:${createHash('sha512').update(bytes).digest('hex')}`);
  expect(digestOf(bytes)).not.toBe(digestOf(Buffer.from('{"a":1}')));
});

/**
 * The bearer-token dance with scopes, which the test bed (Basic auth only) cannot show: a registry
 * that wants a token with every scope a request needs, and a token server that grants what is asked.
 */
describe('bearer tokens carry the scopes a request needs', () => {
  function tokenRegistry() {
    const tokenRequests: string[][] = [];
    const requests: Array<{ method: string; path: string; auth?: string }> = [];
    const fetchImpl = (async (input: string | URL, init: RequestInit = {}) => {
      const url = new URL(String(input));
      const auth = (init.headers as Record<string, string> | undefined)?.authorization;
      if (url.host === 'auth.example') {
        const scopes = url.searchParams.getAll('scope');
        tokenRequests.push(scopes);
        return Response.json({ token: Buffer.from(JSON.stringify(scopes)).toString('base64') });
      }
      requests.push({ method: init.method ?? 'GET', path: url.pathname + url.search, auth });
      const granted: string[] = auth?.startsWith('Bearer ') ? JSON.parse(Buffer.from(auth.slice(7), 'base64').toString()) : [];
      const mount = url.searchParams.get('mount');
      const repo = /^\/v2\/(.+?)\/(blobs|manifests)\//.exec(url.pathname)![1];
      const need = init.method === 'POST' ? `repository:${repo}:pull,push` : `repository:${repo}:pull`;
      if (!granted.includes(need)) {
        return new Response(null, { status: 401, headers: { 'www-authenticate': `Bearer realm="https://auth.example/token",service="reg.example",scope="${need}"` } });
      }
      if (mount) {
        // A real token registry: without pull on the source, the mount quietly becomes an upload.
        return granted.includes(`repository:${url.searchParams.get('from')}:pull`)
          ? new Response(null, { status: 201 })
          : new Response(null, { status: 202, headers: { location: `/v2/${repo}/blobs/uploads/u1` } });
      }
      return new Response(null, { status: 404 });
    }) as typeof fetch;
    return { client: new RegistryClient('reg.example', { username: 'u', password: 'p' }, fetchImpl), tokenRequests, requests };
  }

  test('a challenge is answered with a token for its scope', async () => {
    const { client, tokenRequests, requests } = tokenRegistry();
    await expect(client.hasBlob('prod/app', d('a').digest)).resolves.toBe(false);
    expect(tokenRequests).toEqual([['repository:prod/app:pull']]);
    expect(requests.map((r) => r.auth?.split(' ')[0])).toEqual(['Basic', 'Bearer']);
  });

  test('a mount asks for pull on the source repository too, before it is sent, so it is a mount and not an upload', async () => {
    const { client, tokenRequests } = tokenRegistry();
    await client.hasBlob('prod/app', d('a').digest); // a token for prod/app:pull only
    await expect(client.mountBlob('prod/app', d('a').digest, 'staging/app')).resolves.toEqual({ mounted: true });
    expect(tokenRequests[1]).toEqual(expect.arrayContaining(['repository:prod/app:pull,push', 'repository:staging/app:pull']));
    expect(tokenRequests).toHaveLength(2);
  });
});
