/** The `repositories`, `tags` and `flavor` inputs in docker/metadata-action's syntax, read into rules. */
import { ConfigurationError } from '@kubeline/toolkit';

const RULE_TYPES = ['schedule', 'semver', 'match', 'edge', 'ref', 'raw', 'sha'] as const;
export type RuleType = (typeof RULE_TYPES)[number];

/** metadata-action's default priorities: the highest-priority tag becomes the version. */
const DEFAULT_PRIORITY: Record<RuleType, number> = {
  schedule: 1000,
  semver: 900,
  match: 800,
  edge: 700,
  ref: 600,
  raw: 200,
  sha: 100,
};

const COMMON_ATTRS = ['enable', 'priority', 'prefix', 'suffix'];
const TYPE_ATTRS: Record<RuleType, string[]> = {
  schedule: ['pattern'],
  semver: ['pattern', 'value'],
  match: ['pattern', 'group', 'value'],
  edge: ['branch'],
  ref: ['event'],
  raw: ['value'],
  sha: ['format'],
};

const REF_EVENTS = ['branch', 'tag', 'pr'];
const SHA_FORMATS = ['short', 'long'];
const DEFAULT_TAGS = ['type=schedule', 'type=ref,event=branch', 'type=ref,event=tag', 'type=ref,event=pr'];

/** One line of the `tags` input. */
export interface Rule {
  type: RuleType;
  attrs: Record<string, string>;
  priority: number;
  /** The line as the user wrote it, for messages. */
  line: string;
}

/** The `flavor` input: latest=, and a prefix/suffix for every tag (onlatest=: for latest too). */
export interface Flavor {
  latest: 'auto' | 'true' | 'false';
  prefix: string;
  prefixLatest: boolean;
  suffix: string;
  suffixLatest: boolean;
}

/** A mistake in one of these inputs (`tags` unless said). */
export function bad(message: string, input = 'tags'): ConfigurationError {
  return new ConfigurationError(message, input);
}

/** One line of metadata-action's CSV syntax: fields split at commas, a field may be "quoted". */
function splitFields(line: string, input: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        current += '"';
        i++;
      } else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"' && current.trim() === '') {
      quoted = true;
      current = '';
    } else if (c === ',') {
      fields.push(current);
      current = '';
    } else current += c;
  }
  if (quoted) throw bad(`unterminated quote in '${line}'. Close the field with ", as in "value=a,b".`, input);
  fields.push(current);
  return fields.map((f) => f.trim()).filter((f) => f !== '');
}

function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The rules of the `tags` input (metadata-action's defaults when empty), highest priority first. */
export function parseTags(text: string): Rule[] {
  const input = lines(text);
  const rules = (input.length > 0 ? input : DEFAULT_TAGS).map(parseRule);
  // Highest priority first; equal priorities keep their written order.
  return rules.map((rule, index) => ({ rule, index })).sort((a, b) => b.rule.priority - a.rule.priority || a.index - b.index).map((x) => x.rule);
}

function parseRule(line: string): Rule {
  let type: RuleType | undefined;
  const attrs: Record<string, string> = {};
  for (const field of splitFields(line, 'tags')) {
    const eq = field.indexOf('=');
    if (eq === 0) throw bad(`'${field}' in '${line}' has no attribute name before '='.`);
    if (eq < 0) {
      // A bare field is the value: `type=raw,foo` or just `foo`.
      attrs.value = field;
      continue;
    }
    const key = field.slice(0, eq).trim().toLowerCase();
    // Unlike metadata-action (which keeps only the text up to a second '='),
    // everything after the first '=' is the value.
    const value = field.slice(eq + 1).trim();
    if (key === 'type') {
      const t = value.toLowerCase();
      if (!(RULE_TYPES as readonly string[]).includes(t)) {
        const hint = t === 'pep440' ? ' (pep440 is not supported; use semver or match)' : '';
        throw bad(`unknown type '${value}' in '${line}'${hint}. Use one of: ${RULE_TYPES.join(', ')}.`);
      }
      type = t as RuleType;
    } else attrs[key] = value;
  }
  type ??= 'raw';

  const allowed = [...COMMON_ATTRS, ...TYPE_ATTRS[type]];
  for (const key of Object.keys(attrs)) {
    if (!allowed.includes(key)) {
      const what = key === 'value' ? `a bare value ('${attrs.value}')` : `attribute '${key}'`;
      throw bad(`${what} is not valid for type=${type} in '${line}'. Valid attributes: type, ${allowed.join(', ')}.`);
    }
  }
  checkTypeAttrs(type, attrs, line);

  let priority = DEFAULT_PRIORITY[type];
  if (attrs.priority !== undefined) {
    if (!/^-?\d+$/.test(attrs.priority)) {
      throw bad(`priority='${attrs.priority}' in '${line}' must be a whole number (higher comes first; default ${priority}).`);
    }
    priority = Number(attrs.priority);
  }
  return { type, attrs, priority, line };
}

/** The checks and defaults of one type: what it needs, and ref pr's `pr-` and sha's `sha-` prefixes. */
function checkTypeAttrs(type: RuleType, attrs: Record<string, string>, line: string): void {
  const missing = (attr: string, example: string) =>
    bad(`type=${type} needs ${attr} in '${line}', e.g. '${example}'.`);

  switch (type) {
    case 'semver':
      if (!attrs.pattern) throw missing('pattern=', 'type=semver,pattern={{version}}');
      break;
    case 'match':
      if (!attrs.pattern) throw missing('pattern=', 'type=match,pattern=v(.*),group=1');
      if (attrs.group !== undefined && !/^\d+$/.test(attrs.group)) {
        throw bad(`group='${attrs.group}' in '${line}' must be a capture group number (0 = the whole match).`);
      }
      matchRegex(attrs.pattern, line);
      break;
    case 'ref': {
      if (attrs.event === undefined || attrs.event === '') throw missing('event=', 'type=ref,event=branch');
      attrs.event = attrs.event.toLowerCase();
      if (!REF_EVENTS.includes(attrs.event)) {
        throw bad(`unknown event '${attrs.event}' in '${line}'. Use one of: ${REF_EVENTS.join(', ')}.`);
      }
      if (attrs.event === 'pr' && !('prefix' in attrs)) attrs.prefix = 'pr-';
      break;
    }
    case 'raw':
      if (attrs.value === undefined || attrs.value === '') throw missing('a value', 'type=raw,value=stable');
      break;
    case 'sha': {
      if (!('prefix' in attrs)) attrs.prefix = 'sha-';
      const format = (attrs.format || 'short').toLowerCase();
      if (!SHA_FORMATS.includes(format)) {
        throw bad(`unknown format '${attrs.format}' in '${line}'. Use one of: ${SHA_FORMATS.join(', ')}.`);
      }
      attrs.format = format;
      break;
    }
    case 'schedule':
    case 'edge':
      break;
  }
}

/** The `flavor` input's lines. */
export function parseFlavor(text: string): Flavor {
  const flavor: Flavor = { latest: 'auto', prefix: '', prefixLatest: false, suffix: '', suffixLatest: false };
  for (const line of lines(text)) {
    let lastAffix: 'prefix' | 'suffix' | undefined;
    for (const field of splitFields(line, 'flavor')) {
      const eq = field.indexOf('=');
      if (eq <= 0) {
        throw bad(`'${field}' in '${line}' is not of the form key=value. Use latest=, prefix=, suffix= or onlatest=.`, 'flavor');
      }
      const key = field.slice(0, eq).trim().toLowerCase();
      const value = field.slice(eq + 1).trim();
      switch (key) {
        case 'latest': {
          const v = value.toLowerCase();
          if (v !== 'auto' && v !== 'true' && v !== 'false') {
            throw bad(`latest='${value}' in '${line}' is not valid. Use one of: auto, true, false.`, 'flavor');
          }
          flavor.latest = v;
          break;
        }
        case 'prefix':
        case 'suffix':
          flavor[key] = value;
          lastAffix = key;
          break;
        case 'onlatest': {
          const v = value.toLowerCase();
          if (v !== 'true' && v !== 'false') {
            throw bad(`onlatest='${value}' in '${line}' is not valid. Use true or false.`, 'flavor');
          }
          if (!lastAffix) {
            throw bad(`onlatest= in '${line}' must follow prefix= or suffix= on the same line, e.g. 'suffix=-alpine,onlatest=true'.`, 'flavor');
          }
          if (lastAffix === 'prefix') flavor.prefixLatest = v === 'true';
          else flavor.suffixLatest = v === 'true';
          break;
        }
        default:
          throw bad(`unknown flavor '${key}' in '${line}'. Use one of: latest, prefix, suffix, onlatest.`, 'flavor');
      }
    }
  }
  return flavor;
}

// host[:port]/ then lowercase path components, as in the distribution reference grammar.
const DOMAIN = String.raw`(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(?::\d+)?`;
const COMPONENT = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
const REPOSITORY = new RegExp(`^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*$`);

/** Accepts plain names (one per entry or comma-separated) and metadata-action's `name=...,enable=...`. */
export function parseImages(entries: string[]): string[] {
  const out: string[] = [];
  let seen = 0;
  for (const entry of entries.flatMap((e) => lines(e))) {
    const fields = splitFields(entry, 'repositories');
    const named = fields.some((f) => f.includes('='));
    const candidates: Array<{ name: string; enable: boolean }> = [];
    if (!named) {
      for (const f of fields) candidates.push({ name: f, enable: true });
    } else {
      const image = { name: '', enable: true };
      for (const field of fields) {
        const eq = field.indexOf('=');
        const key = eq < 0 ? 'name' : field.slice(0, eq).trim().toLowerCase();
        const value = eq < 0 ? field : field.slice(eq + 1).trim();
        if (key === 'name') image.name = value;
        else if (key === 'enable') {
          const v = value.toLowerCase();
          if (v !== 'true' && v !== 'false') throw bad(`enable='${value}' in '${entry}' must be true or false.`, 'repositories');
          image.enable = v === 'true';
        } else throw bad(`unknown attribute '${key}' in '${entry}'. Use name= and enable=.`, 'repositories');
      }
      if (!image.name) throw bad(`'${entry}' has no image name; write name=<registry>/<repository>.`, 'repositories');
      candidates.push(image);
    }
    for (const { name, enable } of candidates) {
      seen++;
      const lower = name.toLowerCase();
      const lastSlash = lower.lastIndexOf('/');
      if (lower.includes('@') || lower.slice(lastSlash + 1).includes(':')) {
        throw bad(`'${name}' includes a tag or digest; give only the repository (e.g. ghcr.io/org/app): tags come from the tags input.`, 'repositories');
      }
      if (!REPOSITORY.test(lower)) {
        throw bad(
          `'${name}' is not a valid image repository. Use [registry[:port]/]path with letters, digits and . _ - separators, e.g. ghcr.io/org/app.`,
          'repositories',
        );
      }
      if (enable && !out.includes(lower)) out.push(lower);
    }
  }
  if (seen === 0) throw bad('no image given. Name at least one repository, e.g. ghcr.io/org/app.', 'repositories');
  return out;
}

/** A match rule's pattern: a plain regular expression or a /literal/flags. */
export function matchRegex(pattern: string, line: string): RegExp {
  const literal = /^\/(.+)\/([a-z]*)$/.exec(pattern);
  try {
    return literal ? new RegExp(literal[1], literal[2]) : new RegExp(pattern);
  } catch (err) {
    throw bad(`pattern '${pattern}' in '${line}' is not a valid regular expression: ${(err as Error).message}.`);
  }
}
