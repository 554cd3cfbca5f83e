/** `withRetries`: the one retry loop (bounded exponential backoff, full jitter, Retry-After). */
import { log } from './report';
import { sleep as abortableSleep } from './transient';

export interface RetryOptions {
  /** Attempts after the first one. */
  retries: number;
  /** First backoff delay; doubles each attempt, with full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Only transient failures are retried; everything else is thrown at once. */
  isRetryable: (err: unknown) => boolean;
  /** A delay the server asked for (Retry-After), which wins over the backoff. */
  retryAfterMs?: (err: unknown) => number | undefined | Promise<number | undefined>;
  /** What is being retried, for the log. */
  what: string;
  /** Stops the waiting between attempts (the last error is thrown) when it aborts. */
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Exponential backoff with full jitter, bounded, honouring Retry-After. */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => abortableSleep(ms, options.signal));
  const random = options.random ?? Math.random;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= options.retries || options.signal?.aborted || !options.isRetryable(err)) throw err;
      const asked = await options.retryAfterMs?.(err);
      const backoff = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt) * random();
      const delay = asked !== undefined ? Math.min(asked, options.maxDelayMs * 4) : backoff;
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      log.warning(
        `${options.what} failed (${reason}); retry ${attempt + 1}/${options.retries} in ${(delay / 1000).toFixed(1)} s` +
          (asked !== undefined ? ' as the server asked (Retry-After)' : ''),
      );
      await sleep(delay);
      if (options.signal?.aborted) throw err;
    }
  }
}

/** Retry-After is either seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const when = Date.parse(v);
  return Number.isNaN(when) ? undefined : Math.max(0, when - now);
}
