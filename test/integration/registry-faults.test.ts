// A fault-injecting proxy in front of the real registry makes it answer 503,
// 429 with Retry-After, or stay down, on demand; push-image must retry what is
// transient, wait as asked, give up in bounded time, and never report a
// partial push as success.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { act, expectNoStackTrace, registryDigest, testbed, uniqueName } from '../support/actions';

const bed = testbed();
let proxy: FaultProxy;
let context: string;

beforeAll(async () => {
  proxy = await startFaultProxy(bed.registryNoAuth);
  context = mkdtempSync(join(tmpdir(), 'kubeline-fault-'));
  writeFileSync(join(context, 'Dockerfile'), `FROM ${bed.busybox} AS build\nRUN echo ${Date.now()} > /stamp\nFROM build AS app\nCMD ["cat", "/stamp"]\n`);
});
afterAll(() => proxy.close());
afterEach(() => proxy.clearFaults());

const push = (repo: string, extra: Record<string, string> = {}) =>
  act('push-image', { context, repositories: `${proxy.host}/${repo}`, tags: 'ci', ...extra });

test('503 twice, then the registry accepts: the push succeeds after two retries', async () => {
  const repo = uniqueName('flaky');
  proxy.addFault({ method: 'PUT', path: new RegExp(`/v2/${repo}/manifests/`), status: 503, times: 2 });
  const r = await push(repo);
  expectNoStackTrace(r);
  expect(r.conclusion).toBe('success');
  const faulted = proxy.requests.filter((q) => q.faulted && q.path.includes(repo));
  expect(faulted.map((q) => q.status)).toEqual([503, 503]);
  expect(r.log).toMatch(/push of .*:ci failed .*retry 1\/4/);
  expect(r.log).toMatch(/retry 2\/4/);
  expect(await registryDigest(bed.registryNoAuth, repo, 'ci')).toBe(r.outputs.digest);
});

test('429 with Retry-After: the push waits as long as the registry asks', async () => {
  const repo = uniqueName('limited');
  // A rate limiter's window: every request answers 429 until it closes, a second after it opened.
  proxy.addFault({ status: 429, headers: { 'Retry-After': '3' }, times: Infinity });
  let closing: NodeJS.Timeout | undefined;
  const window = setInterval(() => {
    if (proxy.requests.some((q) => q.faulted) && !closing) closing = setTimeout(() => proxy.clearFaults(), 1000);
  }, 100);
  const started = Date.now();
  const r = await push(repo).finally(() => clearInterval(window));
  expect(r.conclusion).toBe('success');
  expect(r.log).toMatch(/answers 429\); retry 1\/4 in 3\.0 s as the server asked \(Retry-After\)/);
  expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
});

test('a registry that stays down fails after the bounded retries, with no digest', async () => {
  const repo = uniqueName('down');
  proxy.addFault({ status: 503, times: Infinity });
  const r = await push(repo, { retries: '2' });
  expectNoStackTrace(r);
  expect(r.conclusion).toBe('failure');
  expect(r.outputs.digest).toBeUndefined();
  expect(r.log).toMatch(/reaching .* failed \(.* answers 503\); retry 2\/2/);
  expect(r.log).not.toMatch(/retry 3\//);
  expect(r.annotations.find((a) => a.level === 'error')?.message).toMatch(/^push-image: 127\.0\.0\.1:\d+ answers 503$/);
  proxy.clearFaults();
  expect(await registryDigest(bed.registryNoAuth, repo, 'ci')).toBeUndefined();
});

test('connection resets are retried too', async () => {
  const repo = uniqueName('reset');
  proxy.addFault({ method: 'PUT', path: new RegExp(`/v2/${repo}/manifests/`), reset: true, times: 1 });
  const r = await push(repo);
  expect(r.conclusion).toBe('success');
  expect(r.log).toMatch(/retry 1\/4/);
});
