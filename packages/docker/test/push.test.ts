import { digestFromPushOutput, splitReference } from '@kubeline/docker';

test('digest from docker push output', () => {
  const d = 'sha256:' + 'a'.repeat(64);
  expect(digestFromPushOutput(`latest: digest: ${d} size: 527`)).toBe(d);
  expect(digestFromPushOutput('nothing')).toBeUndefined();
});

test.each([
  ['127.0.0.1:5000/demo:sha-1', { registry: '127.0.0.1:5000', repository: 'demo', reference: 'sha-1' }],
  ['ghcr.io/acme/app@sha256:abc', { registry: 'ghcr.io', repository: 'acme/app', reference: 'sha256:abc' }],
  ['busybox', { registry: 'docker.io', repository: 'library/busybox', reference: 'latest' }],
  ['localhost:5000/a/b', { registry: 'localhost:5000', repository: 'a/b', reference: 'latest' }],
])('splitReference(%s)', (ref, parts) => {
  expect(splitReference(ref)).toEqual(parts);
});
