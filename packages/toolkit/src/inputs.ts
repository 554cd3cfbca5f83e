/** Typed action inputs: parsing apart from reading, errors that name the input, renamed inputs. */
import { ConfigurationError } from './errors';
import { log } from './report';

/**
 * Where raw input strings come from. The runner passes inputs as INPUT_<NAME>
 * variables; tests pass a plain object. Parsing never reads the environment.
 */
export type InputSource = (name: string) => string | undefined;

export const envInputs: InputSource = (name) =>
  process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`];

export function objectInputs(values: Record<string, string | undefined>): InputSource {
  return (name) => values[name];
}

/**
 * Typed reading of one action's inputs with errors that name the input.
 *
 * `renamed` maps an input's name to the name it had before (`{ 'kube-context': 'context' }`): the
 * old name still works for one minor version, with a warning. action.yml gives the new name no
 * default (the code holds it), so a value under the old name is never hidden by a default.
 */
export class Inputs {
  private readonly warned = new Set<string>();

  constructor(
    private readonly source: InputSource = envInputs,
    private readonly renamed: Readonly<Record<string, string>> = {},
  ) {}

  /** These inputs, with `renamed` (new name → old name) read under their old names too. */
  withRenamed(renamed: Readonly<Record<string, string>>): Inputs {
    return new Inputs(this.source, { ...this.renamed, ...renamed });
  }

  /** The raw value of `name`, else of the name it had before (with a deprecation warning). */
  private raw(name: string): string | undefined {
    const value = this.source(name);
    const old = this.renamed[name];
    if (!old || (value !== undefined && value.trim() !== '')) return value;
    const oldValue = this.source(old);
    if (oldValue === undefined || oldValue.trim() === '') return value;
    if (!this.warned.has(old)) {
      this.warned.add(old);
      log.warning(`input '${old}' is deprecated and will be removed in the next minor version; use '${name}' instead.`);
    }
    return oldValue;
  }

  /** Trimmed value, or '' when unset. */
  string(name: string, fallback = ''): string {
    const raw = this.raw(name);
    const value = raw === undefined ? '' : raw.trim();
    return value === '' ? fallback : value;
  }

  required(name: string, hint = ''): string {
    const value = this.string(name);
    if (!value) throw new ConfigurationError(`is required but was empty.${hint ? ` ${hint}` : ''}`, name);
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    return parseBoolean(name, this.string(name), fallback);
  }

  choice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    return parseChoice(name, this.string(name), allowed, fallback);
  }

  integer(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    return parseInteger(name, this.string(name), fallback, min, max);
  }

  /** Newline- or comma-separated list; blank entries and `#` comments dropped. */
  list(name: string, options: { commas?: boolean } = {}): string[] {
    return parseList(this.raw(name) ?? '', options.commas ?? true);
  }

  /** Lines `key=value`; the value may itself contain '='. */
  keyValues(name: string): Array<[string, string]> {
    return parseKeyValues(name, this.raw(name) ?? '');
  }

  /** Multi-line text kept as written (no trimming of inner lines). */
  multiline(name: string): string {
    return (this.raw(name) ?? '').replace(/\s+$/, '');
  }
}

export function parseBoolean(name: string, value: string, fallback: boolean): boolean {
  if (value === '') return fallback;
  const v = value.toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off'].includes(v)) return false;
  throw new ConfigurationError(`'${value}' is not a boolean. Use true or false.`, name);
}

export function parseChoice<T extends string>(name: string, value: string, allowed: readonly T[], fallback: T): T {
  if (value === '') return fallback;
  const found = allowed.find((a) => a === value.toLowerCase());
  if (!found) throw new ConfigurationError(`'${value}' is not valid. Use one of: ${allowed.join(', ')}.`, name);
  return found;
}

export function parseInteger(name: string, value: string, fallback: number, min: number, max: number): number {
  if (value === '') return fallback;
  if (!/^-?\d+$/.test(value)) throw new ConfigurationError(`'${value}' is not a whole number.`, name);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigurationError(`${n} is out of range; use a number from ${min} to ${max}.`, name);
  return n;
}

export function parseList(value: string, commas: boolean): string[] {
  return value
    .split(commas ? /[\n,]/ : /\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('#'));
}

export function parseKeyValues(name: string, value: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const line of parseList(value, false)) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ConfigurationError(`'${line}' is not of the form key=value.`, name);
    pairs.push([line.slice(0, eq).trim(), line.slice(eq + 1)]);
  }
  return pairs;
}
