import { digestFromPushOutput, splitReference } from '@kubeline/docker';
import { isTransientMessage } from '@kubeline/toolkit';

describe('push error classification', () => {
  test.each([
    ['received unexpected HTTP status: 503 Service Unavailable', true],
    ['toomanyrequests: rate limit exceeded', true],
    ['Head "http://127.0.0.1:5000/v2/x/blobs/sha256:1": read: connection reset by peer', true],
    ['net/http: TLS handshake timeout', true],
    ['unauthorized: authentication required', false],
    ['denied: requested access to the resource is denied', false],
    ['name unknown: repository name not known to registry', false],
  ])('%s → retry %p', (output, transient) => {
    expect(isTransientMessage(output)).toBe(transient);
  });
});

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
