/** Plain scalars as Kubernetes reads them (YAML 1.1 without timestamps): the rules both YAML readers apply. */

// Plain scalars as Kubernetes reads them: YAML 1.1, as go-yaml v2 does (sigs.k8s.io/yaml), without
// timestamps (go-yaml leaves them strings when decoding into an untyped value): the rules this
// project's reader has always applied (its former library's YAML 1.1 schema less the timestamp tag,
// kept exactly: test/yaml-read.test.ts). yaml-read.ts gives the same rules to the `yaml` package, so
// both readers resolve every scalar alike.

/** `null`, `~` and the empty scalar. */
export const YAML11_NULL = /^(?:~|null|Null|NULL)?$/;
/** YAML 1.1 booleans: `y`, `yes`, `on`, `true` and their negations, in three casings. */
export const YAML11_BOOL = /^(?:[yYnN]|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
/** Binary `0b1010`, octal `0755`, hex `0x1f`, sexagesimal `1:30`, decimal; `_` as a separator. */
export const YAML11_INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+|[-+]?(?:0|[1-9][0-9_]*))$/;
/** A float needs a dot (`1.5`, `.5`, `1.`), an exponent a sign (`1.0e+3`; `1e3` is a string); `1:30.5`, `.inf`, `.nan`. */
export const YAML11_FLOAT = /^(?:[-+]?(?:(?:[0-9][0-9_]*)?\.[0-9_]*)(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const FLOAT_SPECIAL = /^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const TRUE_WORDS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'true', 'True', 'TRUE']);

/** A boolean's value; call only when YAML11_BOOL matches. */
export const yaml11Bool = (source: string): boolean => TRUE_WORDS.has(source);

/** The value of a scalar YAML11_INT matches, or undefined when it is not a finite number (then a string). */
export function yaml11Int(source: string): number | undefined {
  let value = source.replace(/_/g, '');
  let sign = 1;
  if (value[0] === '-' || value[0] === '+') {
    if (value[0] === '-') sign = -1;
    value = value.slice(1);
  }
  let result: number;
  if (value.startsWith('0b')) result = sign * parseInt(value.slice(2), 2);
  else if (value.startsWith('0x')) result = sign * parseInt(value.slice(2), 16);
  else if (value.includes(':')) result = sign * sexagesimal(value);
  else if (value !== '0' && value[0] === '0') result = sign * parseInt(value, 8);
  else result = sign * parseInt(value, 10);
  return Number.isFinite(result) ? result : undefined;
}

/** The value of a scalar YAML11_FLOAT matches, or undefined when it is not a number (`.`, `._`: a string). */
export function yaml11Float(source: string): number | undefined {
  let value = source.toLowerCase().replace(/_/g, '');
  const sign = value[0] === '-' ? -1 : 1;
  if (value[0] === '-' || value[0] === '+') value = value.slice(1);
  if (value === '.inf') return sign === 1 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  if (value === '.nan') return Number.NaN;
  const result = sign * (value.includes(':') ? sexagesimal(value) : parseFloat(value));
  return Number.isFinite(result) || FLOAT_SPECIAL.test(source) ? result : undefined;
}

function sexagesimal(value: string): number {
  let result = 0;
  for (const part of value.split(':')) result = result * 60 + Number(part);
  return result;
}

/** The words YAML 1.1 reads as null or a boolean. */
const LETTER_WORDS: Record<string, unknown> = {
  null: null, Null: null, NULL: null,
  true: true, True: true, TRUE: true, false: false, False: false, FALSE: false,
  yes: true, Yes: true, YES: true, no: false, No: false, NO: false,
  on: true, On: true, ON: true, off: false, Off: false, OFF: false,
  y: true, Y: true, n: false, N: false,
};

/** A plain (unquoted, untagged) scalar's value under the rules above. */
export function resolvePlainScalar(plain: string): unknown {
  const c = plain.charCodeAt(0);
  // Letters: a word or a string (no number starts with a letter). Digits: plain decimals first.
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return plain.length <= 5 && Object.hasOwn(LETTER_WORDS, plain) ? LETTER_WORDS[plain] : plain;
  if (c >= 49 && c <= 57 && plain.length < 16 && /^[1-9][0-9]*$/.test(plain)) return Number(plain);
  if (plain === '' || plain === '~') return null;
  // Only a digit, a sign or a dot starts a number.
  if (!((c >= 48 && c <= 57) || c === 45 /* - */ || c === 43 /* + */ || c === 46) /* . */) return plain;
  if (YAML11_INT.test(plain)) return yaml11Int(plain) ?? plain;
  if (YAML11_FLOAT.test(plain)) return yaml11Float(plain) ?? plain;
  return plain;
}
