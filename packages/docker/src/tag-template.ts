/** The `{{…}}` expressions of tag, prefix, suffix and label values, and their moment.js date formats. */
import { ConfigurationError } from '@kubeline/toolkit';

/** Reports a bad expression as the user's mistake; never returns. */
export type Fail = (message: string) => never;
/** One expression: `{{name 'arg' key='value'}}` calls it with the args and the key=value hash. */
export type Helper = (args: string[], hash: Record<string, string>, fail: Fail) => string;
export type Helpers = Record<string, Helper>;

// Kept hand-written: handlebars 4.7.10 grows the push-image bundle from 550 to 674 KB (ncc --minify, +22%) for two expression forms.
/**
 * A tiny subset of Handlebars: `{{name}}` and `{{name 'arg' key='value'}}`. An unknown name fails
 * with the list of `valid` ones, where Handlebars would print nothing.
 */
export function renderTemplate(template: string, helpers: Helpers, valid: string[], input: string, where: string): string {
  let out = '';
  let pos = 0;
  for (;;) {
    const open = template.indexOf('{{', pos);
    if (open < 0) return out + template.slice(pos);
    const close = template.indexOf('}}', open + 2);
    if (close < 0) throw new ConfigurationError(`'{{' without '}}' in '${where}'.`, input);
    out += template.slice(pos, open);
    const expression = template.slice(open, close + 2);
    const fail: Fail = (message) => {
      throw new ConfigurationError(`${expression} in '${where}' ${message}.`, input);
    };
    const { name, args, hash } = parseExpression(template.slice(open + 2, close), fail);
    const helper = Object.hasOwn(helpers, name) ? helpers[name] : undefined;
    if (!helper) {
      throw new ConfigurationError(`unknown expression ${expression} in '${where}'. Use one of: ${valid.map((v) => `{{${v}}}`).join(', ')}.`, input);
    }
    if (helper.length < 1 && (args.length > 0 || Object.keys(hash).length > 0)) fail('takes no arguments');
    out += helper(args, hash, fail);
    pos = close + 2;
  }
}

function parseExpression(body: string, fail: Fail): { name: string; args: string[]; hash: Record<string, string> } {
  const token = /\s*(?:([A-Za-z_]\w*)=(?:'([^']*)'|"([^"]*)"|([^\s'"]+))|'([^']*)'|"([^"]*)"|([^\s'"=]+))/y;
  const args: string[] = [];
  const hash: Record<string, string> = {};
  let name = '';
  let pos = 0;
  while (body.slice(pos).trim() !== '') {
    token.lastIndex = pos;
    const m = token.exec(body);
    if (!m) fail('cannot be read; quote arguments with single quotes');
    pos = token.lastIndex;
    if (m[1] !== undefined) hash[m[1]] = m[2] ?? m[3] ?? m[4];
    else if (m[7] !== undefined && name === '') name = m[7];
    else args.push(m[5] ?? m[6] ?? m[7]);
  }
  if (!name) fail('is empty');
  return { name, args, hash };
}

/** `{{date 'FORMAT' tz='Zone'}}` (and `commit_date`) for `date`, in UTC unless tz= says otherwise. */
export function dateExpression(date: Date): Helper {
  return (args, hash, fail) => {
    if (args.length !== 1) fail(`needs one quoted format, e.g. {{date 'YYYYMMDD'}}`);
    for (const key of Object.keys(hash)) if (key !== 'tz') fail(`has an unknown attribute '${key}'; only tz= is valid`);
    return formatDate(date, args[0], hash.tz ?? 'UTC', fail);
  };
}

// Letters moment.js treats as format tokens; other letters are printed as is.
const MOMENT_TOKEN_LETTERS = /[MQDdEewWYygGAaHhkmsSzZXxN]/;

// Kept hand-written: moment-timezone (metadata-action's) adds 816 KB minified and falls back to UTC on an unknown tz (test 'unknown time zone'); dayjs (+13 KB) renders 'Qo' as '1o', not moment's '1st' nor an error (test 'unsupported date token').
/** The moment.js format tokens metadata-action users write for dates, in a time zone. */
function formatDate(date: Date, format: string, tz: string, fail: Fail): string {
  let parts: Record<string, number>;
  try {
    const fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    parts = Object.fromEntries(fmt.formatToParts(date).filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
  } catch {
    return fail(`has an unknown time zone '${tz}'; use an IANA name such as UTC or Europe/Paris`);
  }
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const values: Record<string, string> = {
    YYYY: pad(parts.year, 4),
    YY: pad(parts.year % 100),
    MM: pad(parts.month),
    M: String(parts.month),
    DD: pad(parts.day),
    D: String(parts.day),
    HH: pad(parts.hour % 24),
    H: String(parts.hour % 24),
    mm: pad(parts.minute),
    m: String(parts.minute),
    ss: pad(parts.second),
    s: String(parts.second),
    SSS: pad(date.getUTCMilliseconds(), 3),
    X: String(Math.floor(date.getTime() / 1000)),
    x: String(date.getTime()),
  };
  return format.replace(/\[([^\]]*)\]|YYYY|YY|SSS|MM|DD|HH|mm|ss|[A-Za-z]/g, (token, literal: string | undefined) => {
    if (literal !== undefined) return literal;
    if (token in values) return values[token];
    if (MOMENT_TOKEN_LETTERS.test(token)) {
      return fail(`uses the date token '${token}', which is not supported; use YYYY YY MM M DD D HH H mm m ss s SSS X x or [literal text]`);
    }
    return token;
  });
}
