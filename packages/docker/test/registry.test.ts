import { RegistryClient, RegistryHttpError } from '@kubeline/docker';

const DIGEST = 'sha256:' + 'b'.repeat(64);
const reset = () => new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });

/** A registry that answers each request with the next of `answers` (a status, or an error to throw). */
function fakeRegistry(answers: Array<number | Error>) {
  const calls: string[] = [];
  const fetchImpl = (async (url: string | URL) => {
    calls.push(String(url));
    const next = answers.shift() ?? 200;
    if (next instanceof Error) throw next;
    return new Response(null, { status: next, headers: { 'docker-content-digest': DIGEST } });
  }) as typeof fetch;
  return { client: new RegistryClient('127.0.0.1:5000', undefined, fetchImpl), calls };
}

describe('registry retries go through the toolkit classifier', () => {
  test('a connection reset is retried', async () => {
    const { client, calls } = fakeRegistry([reset(), 200]);
    await expect(client.resolve('demo', 'ci')).resolves.toBe(DIGEST);
    expect(calls).toHaveLength(2);
  });

  test('501 is not retried', async () => {
    const { client, calls } = fakeRegistry([501]);
    await expect(client.resolve('demo', 'ci')).rejects.toMatchObject({ status: 501 });
    expect(calls).toHaveLength(1);
  });

  test('a registry not answering yet is waited for; the error names the network code', async () => {
    const { client, calls } = fakeRegistry([reset(), 200]);
    await client.waitUntilUp(2);
    expect(calls).toHaveLength(2);
    const down = fakeRegistry([reset()]);
    const err = await down.client.waitUntilUp(0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryHttpError);
    expect((err as Error).message).toBe('127.0.0.1:5000 is not answering (ECONNRESET)');
  });
});
