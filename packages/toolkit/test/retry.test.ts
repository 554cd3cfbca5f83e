import { parseRetryAfter, withRetries } from '@kubeline/toolkit';

class Transient extends Error {}

function recorder() {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
}

describe('withRetries', () => {
  test.each([
    { name: 'succeeds after two transient failures', failures: 2, retries: 4, expectCalls: 3, expectThrow: false },
    { name: 'gives up after the retry budget', failures: 10, retries: 3, expectCalls: 4, expectThrow: true },
    { name: 'no retry when the budget is zero', failures: 1, retries: 0, expectCalls: 1, expectThrow: true },
  ])('$name', async ({ failures, retries, expectCalls, expectThrow }) => {
    const { delays, sleep } = recorder();
    let calls = 0;
    const attempt = withRetries(
      async () => {
        calls++;
        if (calls <= failures) throw new Transient('503');
        return 'ok';
      },
      { what: 'op', retries, baseDelayMs: 100, maxDelayMs: 1000, isRetryable: (e) => e instanceof Transient, sleep, random: () => 1 },
    );
    if (expectThrow) await expect(attempt).rejects.toThrow('503');
    else await expect(attempt).resolves.toBe('ok');
    expect(calls).toBe(expectCalls);
    expect(delays).toEqual([100, 200, 400, 800, 1000].slice(0, expectCalls - 1));
  });

  test('does not retry a permanent failure', async () => {
    const { delays, sleep } = recorder();
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls++;
          throw new Error('401 unauthorized');
        },
        { what: 'op', retries: 5, baseDelayMs: 100, maxDelayMs: 1000, isRetryable: (e) => e instanceof Transient, sleep },
      ),
    ).rejects.toThrow('401');
    expect(calls).toBe(1);
    expect(delays).toEqual([]);
  });

  test('waits as long as Retry-After asks instead of the backoff', async () => {
    const { delays, sleep } = recorder();
    let calls = 0;
    await withRetries(
      async () => {
        if (++calls === 1) throw new Transient('429');
        return 1;
      },
      { what: 'op', retries: 3, baseDelayMs: 100, maxDelayMs: 1000, isRetryable: () => true, retryAfterMs: async () => 3000, sleep },
    );
    expect(delays).toEqual([3000]);
  });

  test('jitter keeps delays within the exponential bound', async () => {
    const { delays, sleep } = recorder();
    let calls = 0;
    await withRetries(
      async () => {
        if (++calls < 4) throw new Transient('x');
      },
      { what: 'op', retries: 3, baseDelayMs: 100, maxDelayMs: 1000, isRetryable: () => true, sleep, random: () => 0.5 },
    );
    expect(delays).toEqual([50, 100, 200]);
  });
});

describe('parseRetryAfter', () => {
  test.each([
    ['5', 5000],
    [' 0 ', 0],
    ['Wed, 21 Oct 2015 07:28:10 GMT', 10_000],
    ['soon', undefined],
    [null, undefined],
  ])('%p → %p', (value, expected) => {
    expect(parseRetryAfter(value, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(expected);
  });
});
