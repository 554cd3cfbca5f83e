import { isTransientMessage, isTransientStatus, networkErrorCode, sleep } from '@kubeline/toolkit';

describe('what counts as transient', () => {
  test.each([
    [408, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [501, false],
    [505, false],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [409, false],
    [422, false],
  ])('HTTP %i → %p', (status, expected) => {
    expect(isTransientStatus(status)).toBe(expected);
  });

  test.each([
    ['a code on the error', Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'ECONNRESET'],
    ['a code in the cause chain (fetch)', new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }), 'ECONNREFUSED'],
    ['inside an AggregateError', new AggregateError([Object.assign(new Error('a'), { code: 'EHOSTUNREACH' })]), 'EHOSTUNREACH'],
    ['a timed-out fetch', new DOMException('timed out', 'TimeoutError'), 'ETIMEDOUT'],
    ['a certificate error', Object.assign(new Error('bad cert'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), undefined],
    ['a plain error', new Error('boom'), undefined],
  ])('network code: %s', (_name, err, expected) => {
    expect(networkErrorCode(err)).toBe(expected);
  });

  test.each([
    ['received unexpected HTTP status: 503 Service Unavailable', true],
    ['toomanyrequests: too many requests', true],
    ['read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer', true],
    ['unexpected EOF', true],
    ['toomanyrequests: rate limit exceeded', true],
    ['Head "http://127.0.0.1:5000/v2/x/blobs/sha256:1": read: connection reset by peer', true],
    ['net/http: TLS handshake timeout', true],
    ['unauthorized: authentication required', false],
    ['denied: requested access to the resource is denied', false],
    ['name unknown: repository name not known to registry', false],
    ['manifest invalid', false],
  ])('CLI text %p → %p', (text, expected) => {
    expect(isTransientMessage(text)).toBe(expected);
  });
});

describe('sleep', () => {
  test('an aborted signal ends the sleep at once', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const done = sleep(60_000, controller.signal);
    controller.abort();
    await done;
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
