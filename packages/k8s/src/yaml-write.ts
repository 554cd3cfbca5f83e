/** The one YAML writer: block style, quoting what YAML 1.1 or 1.2 readers would take for something else. */
/**
 * A YAML writer for JSON-like Kubernetes objects, several times faster than a general dumper:
 * block style, two-space indents, strings left plain only when every YAML 1.1 and 1.2 reader takes
 * them for the same string (so `"yes"`, `"0755"`, `"1:20"` and `"~"` stay quoted), multi-line
 * strings as literal blocks. What it writes reads back to the same value (tested by round trip).
 */
export function toYaml(value: unknown): string {
  const out: string[] = [];
  if (isCollection(value) && !isEmpty(value)) writeCollection(value, 0, out);
  else out.push(scalar(value, 0), '\n');
  return out.join('');
}

type Collection = Record<string, unknown> | unknown[];

function isCollection(value: unknown): value is Collection {
  return typeof value === 'object' && value !== null;
}

function isEmpty(value: Collection): boolean {
  if (Array.isArray(value)) return value.length === 0;
  for (const _ in value) return false;
  return true;
}

const SPACES = ' '.repeat(256);
const pad = (n: number) => (n <= 256 ? SPACES.slice(0, n) : ' '.repeat(n));

function writeCollection(value: Collection, indent: number, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      out.push(pad(indent), '-');
      if (isCollection(item) && !isEmpty(item)) {
        if (Array.isArray(item)) {
          out.push('\n');
          writeCollection(item, indent + 2, out);
        } else {
          // `- key: value` with the rest of the mapping aligned under the first key.
          out.push(' ');
          writeMapping(item, indent + 2, out, true);
        }
      } else out.push(' ', scalar(item, indent + 2), '\n');
    }
  } else writeMapping(value, indent, out, false);
}

function writeMapping(map: Record<string, unknown>, indent: number, out: string[], inlineFirst: boolean): void {
  let first = inlineFirst;
  for (const key in map) {
    const item = map[key];
    if (item === undefined) continue;
    out.push(first ? '' : pad(indent), plainKey(key), ':');
    first = false;
    if (isCollection(item) && !isEmpty(item)) {
      out.push('\n');
      writeCollection(item, Array.isArray(item) ? indent + 2 : indent + 2, out);
    } else out.push(' ', scalar(item, indent + 2), '\n');
  }
  if (first) out.push('{}\n'); // every value was undefined
}

function scalar(value: unknown, indent: number): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? number(value) : Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
    case 'bigint':
      return String(value);
    case 'string':
      return stringScalar(value, indent);
    case 'object':
      return Array.isArray(value) ? '[]' : '{}';
    default:
      return JSON.stringify(String(value));
  }
}

/** YAML 1.1 reads an exponent as a float only with a dot in the mantissa: 1.0e+21, not 1e+21. */
function number(value: number): string {
  const text = String(value);
  return text.includes('e') && !text.includes('.') ? text.replace('e', '.0e') : text;
}

// Safe plain scalars: start with a letter, digit, `/`, `.` or `_`, no `: `, ` #`, or flow characters.
const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./@%+=,~ -]*(?::[A-Za-z0-9_./@%+=,~-]+)*[A-Za-z0-9_./@%+=~-]*$/;
// What YAML 1.1 (go-yaml, kubectl) or 1.2 would read as something other than a string.
const SPECIAL =
  /^(?:[yYnN~]|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|=|<<)$|^[-+]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?)$|^\d{4}-\d\d?-\d\d?(?:$|[Tt \t])/;
const PRINTABLE_BLOCK = /^[^\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\ufeff]*$/;

function isPlain(s: string): boolean {
  return s.length > 0 && PLAIN.test(s) && !SPECIAL.test(s) && !s.endsWith(' ') && !s.includes(' #');
}

function plainKey(key: string): string {
  return isPlain(key) ? key : JSON.stringify(key);
}

function stringScalar(s: string, indent: number): string {
  if (isPlain(s)) return s;
  // Literal blocks for readable multi-line text; a first line that starts with a blank would need
  // an indentation indicator, so such text is quoted instead.
  if (s.includes('\n') && s.trim() && PRINTABLE_BLOCK.test(s) && !/[ \t]\n|[ \t]$/.test(s) && !/^\n*[ \t]/.test(s)) return literalBlock(s, indent);
  // JSON string syntax is valid YAML double-quoted syntax.
  return JSON.stringify(s);
}

function literalBlock(s: string, indent: number): string {
  let body = s;
  let chomp = '-';
  if (body.endsWith('\n')) {
    body = body.slice(0, -1);
    chomp = body.endsWith('\n') || body === '' ? '+' : '';
    if (chomp === '+') body = s.slice(0, -1);
  }
  const prefix = pad(indent);
  const lines = body.split('\n').map((line) => (line ? prefix + line : ''));
  return `|${chomp}\n${lines.join('\n')}`;
}
