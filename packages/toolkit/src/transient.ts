/** The one decision of what failure is worth another attempt: network codes, HTTP statuses, CLI wording. */

/** Error codes of a connection that failed or broke on the way, in Node, undici and DNS. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * The network error code (`ECONNREFUSED`…) somewhere in an error's cause chain (or in an
 * AggregateError's errors); a fetch that timed out or was aborted counts as `ETIMEDOUT`.
 */
export function networkErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) return code;
    const name = (e as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') return 'ETIMEDOUT';
    const inner = (e as { errors?: unknown }).errors;
    if (Array.isArray(inner)) {
      for (const one of inner) {
        const found = networkErrorCode(one);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/**
 * HTTP statuses worth another attempt: 408 Request Timeout, 429 Too Many Requests and 5xx but
 * 501 Not Implemented and 505 HTTP Version Not Supported, which no retry changes.
 */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

const PERMANENT_WORDING = /unauthorized|denied|authentication required|no basic auth credentials|name unknown|manifest invalid/i;
const TRANSIENT_WORDING =
  /\b5\d\d\b|429|too ?many ?requests|service unavailable|bad gateway|gateway time-?out|connection reset|connection refused|broken pipe|i\/o timeout|timed? ?out|unexpected EOF|\bEOF\b/i;

/**
 * Transient trouble as a command-line program words it (the Docker engine's push): a 5xx or 429,
 * a reset or refused connection, a timeout. Auth and "not found" answers never are.
 */
export function isTransientMessage(text: string): boolean {
  return !PERMANENT_WORDING.test(text) && TRANSIENT_WORDING.test(text);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
