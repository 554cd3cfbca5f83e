import { ConfigurationError } from '@kubeline/toolkit';
import { formatDuration, parseDuration } from '@kubeline/toolkit';

describe('parseDuration', () => {
  test.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1h2m3s', 3_723_000],
    ['300', 300_000],
    ['2.5', 2_500],
    ['1.5m', 90_000],
    ['500ms', 500],
    ['1s500ms', 1_500],
    [' 10m ', 600_000],
  ])('%p is %d ms', (value, ms) => {
    expect(parseDuration(value)).toBe(ms);
  });

  test.each(['5 minutes', '5min', '1m 30s', 'm', '-5s', '1d', '5M', 'abc', '1h30', '1e3'])('%p is refused, naming the input and showing valid values', (value) => {
    expect(() => parseDuration(value)).toThrow(ConfigurationError);
    expect(() => parseDuration(value)).toThrow(`input 'timeout': '${value}' is not a duration. Use a number with a unit, e.g. 90s, 5m, 1m30s or 1h (a plain number is seconds).`);
  });

  test('zero and more than a day are refused; the input name is the caller\'s', () => {
    expect(() => parseDuration('0s')).toThrow("input 'timeout': '0s' is not a positive duration.");
    expect(() => parseDuration('0', 'lock-timeout')).toThrow("input 'lock-timeout': '0' is not a positive duration.");
    expect(() => parseDuration('25h')).toThrow("input 'timeout': '25h' is longer than 24h; use a shorter duration.");
  });
});

test.each([
  [850, '850ms'],
  [4200, '4.2s'],
  [12_000, '12s'],
  [65_000, '1m05s'],
  [3_720_000, '1h02m'],
])('formatDuration(%d) is %p', (ms, text) => {
  expect(formatDuration(ms)).toBe(text);
});
