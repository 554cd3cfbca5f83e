/** Duration inputs (`90s`, `5m`, `1m30s`) and durations written for people. */
import { ConfigurationError } from './errors';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** setTimeout's limit is about 24.8 days; a deploy that waits a day is a mistake anyway. */
const MAX_MS = 24 * 3_600_000;
const HINT = 'Use a number with a unit, e.g. 90s, 5m, 1m30s or 1h (a plain number is seconds).';

/**
 * Parses a duration input the way Go's time.ParseDuration reads it (`90s`, `5m`, `1m30s`, `1.5h`,
 * `500ms`), plus a plain number of seconds (`300`). Returns milliseconds.
 *
 * @param value the input's text (trimmed; '' is the caller's job: use its default)
 * @param input the input's name, for the error: `input 'timeout': …`
 * @throws ConfigurationError naming the input, with examples of valid values
 */
export function parseDuration(value: string, input = 'timeout'): number {
  const text = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1000;
  } else if (/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(text)) {
    ms = 0;
    for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|h|m|s)/g)) ms += Number(amount) * UNIT_MS[unit];
  } else {
    throw new ConfigurationError(`'${value}' is not a duration. ${HINT}`, input);
  }
  ms = Math.round(ms);
  if (ms <= 0) throw new ConfigurationError(`'${value}' is not a positive duration. ${HINT}`, input);
  if (ms > MAX_MS) throw new ConfigurationError(`'${value}' is longer than 24h; use a shorter duration.`, input);
  return ms;
}

/** A duration for people: `850ms`, `4.2s`, `1m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')}s`;
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}h${pad(m)}m` : `${m}m${pad(s)}s`;
}
