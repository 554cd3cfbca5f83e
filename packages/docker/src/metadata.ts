import * as core from '@actions/core';
import { ConfigurationError, type RunContext } from '@kubeline/toolkit';

/**
 * Image tags and OCI labels computed from the run context, written in
 * docker/metadata-action's `tags` / `flavor` syntax so a workflow migrating
 * from it keeps its configuration. The rules (types, default priorities,
 * `latest=auto`, prefixes and suffixes, global expressions) follow
 * metadata-action's documented behaviour; where this module differs on
 * purpose it says so next to the code.
 */

export interface MetadataRequest {
  /** One or more repositories ("ghcr.io/Org/App", "127.0.0.1:5000/demo"); lowercased in the output. */
  images: string[];
  /** The multi-line `tags` input; empty = metadata-action's defaults. */
  tags: string;
  /** The `flavor` input: latest=auto|true|false, prefix=, suffix= (with onlatest=). */
  flavor: string;
  /** Short sha length (metadata-action's default is 7). */
  shaLength: number;
  /** Extra `key=value` labels from the user; they win over the generated ones. */
  labels?: string[];
  context: RunContext;
  /** The clock for `{{date}}` and `org.opencontainers.image.created` (default: now). */
  now?: Date;
  /** Where non-fatal findings go (a tag that is not semver); default: a workflow warning. */
  warn?: (message: string) => void;
}

export interface ImageMetadata {
  /** The main version (first tag's value), like metadata-action's `version` output; '' when no tag applies. */
  version: string;
  /** Full references image:tag for every image × tag, deduplicated, in priority order. */
  tags: string[];
  /** Just the tag parts, in priority order. */
  tagNames: string[];
  /** org.opencontainers.image.* labels plus the user's labels, sorted by key. */
  labels: Record<string, string>;
  /** The org.opencontainers.image.* keys of `labels`, for manifest annotations. */
  annotations: Record<string, string>;
}

const RULE_TYPES = ['schedule', 'semver', 'match', 'edge', 'ref', 'raw', 'sha'] as const;
type RuleType = (typeof RULE_TYPES)[number];

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

const GLOBAL_EXPRESSIONS = [
  'branch',
  'tag',
  'sha',
  'base_ref',
  'is_default_branch',
  'is_not_default_branch',
  "date 'FORMAT'",
  "commit_date 'FORMAT'",
];
const SEMVER_EXPRESSIONS = ['raw', 'version', 'major', 'minor', 'patch'];

interface Rule {
  type: RuleType;
  attrs: Record<string, string>;
  priority: number;
  /** The line as the user wrote it, for messages. */
  line: string;
}

interface Flavor {
  latest: 'auto' | 'true' | 'false';
  prefix: string;
  prefixLatest: boolean;
  suffix: string;
  suffixLatest: boolean;
}

export function computeMetadata(req: MetadataRequest): ImageMetadata {
  const ctx = req.context;
  const now = req.now ?? new Date();
  const warn = req.warn ?? ((message: string) => core.warning(message));
  if (!Number.isInteger(req.shaLength) || req.shaLength < 1) {
    throw new ConfigurationError(`the short sha length must be a whole number of at least 1, not ${req.shaLength}.`);
  }

  const images = parseImages(req.images);
  const flavor = parseFlavor(req.flavor);
  const rules = parseTags(req.tags);

  // metadata-action replaces github.ref with the PR's merge ref on
  // pull_request_target, whose ref is otherwise the base branch.
  const ref =
    /pull_request_target/.test(ctx.eventName) && ctx.prNumber !== undefined ? `refs/pull/${ctx.prNumber}/merge` : ctx.ref;
  // Deliberate difference: the PR head, not the merge commit (metadata-action
  // only does this with DOCKER_METADATA_PR_HEAD_SHA=true; see its issue #206).
  const sha = ctx.commitSha || ctx.sha;
  const shortSha = sha.length > req.shaLength ? sha.slice(0, req.shaLength) : sha;
  const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : '';
  const gitTag = ref.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : '';
  const isDefaultBranch =
    (branch !== '' && branch === ctx.defaultBranch) ||
    // These events always run on the default branch's last commit.
    /create|discussion|issues|schedule/.test(ctx.eventName);
  // RunContext has no base ref yet; use one if a later version carries it.
  const baseRef = ctx.baseRef ?? '';

  const dateHelper =
    (date: Date) =>
    (args: string[], hash: Record<string, string>, fail: Fail): string => {
      if (args.length !== 1) fail(`needs one quoted format, e.g. {{date 'YYYYMMDD'}}`);
      for (const key of Object.keys(hash)) if (key !== 'tz') fail(`has an unknown attribute '${key}'; only tz= is valid`);
      return formatDate(date, args[0], hash.tz ?? 'UTC', fail);
    };
  const globals: Helpers = {
    branch: () => branch,
    tag: () => gitTag,
    sha: () => shortSha,
    base_ref: () => baseRef,
    is_default_branch: () => String(isDefaultBranch),
    is_not_default_branch: () => String(!isDefaultBranch),
    date: dateHelper(now),
    commit_date: dateHelper(ctx.commitDate),
  };
  const exp = (text: string, input: string, where: string): string =>
    render(text, globals, GLOBAL_EXPRESSIONS, input, where);

  // Render every template once up front, whatever the event, so a typo in a
  // rule fails on the first run, not on the first run that would use it.
  const sample: Helpers = { raw: () => 'v1.2.3', version: () => '1.2.3', major: () => '1', minor: () => '2', patch: () => '3' };
  for (const rule of rules) {
    for (const attr of ['enable', 'prefix', 'suffix', 'value']) {
      if (rule.attrs[attr] !== undefined) exp(rule.attrs[attr], 'tags', rule.line);
    }
    if (rule.type === 'schedule' && rule.attrs.pattern !== undefined) exp(rule.attrs.pattern, 'tags', rule.line);
    if (rule.type === 'semver') render(rule.attrs.pattern, sample, SEMVER_EXPRESSIONS, 'tags', rule.line);
  }
  exp(flavor.prefix, 'flavor', `prefix=${flavor.prefix}`);
  exp(flavor.suffix, 'flavor', `suffix=${flavor.suffix}`);

  const latestFor = (auto: boolean): boolean => (flavor.latest === 'auto' ? auto : flavor.latest === 'true');

  let main: string | undefined;
  const partial: string[] = [];
  let latest: boolean | undefined;
  const add = (value: string, autoLatest: boolean): void => {
    const tag = sanitizeTag(value);
    if (tag === '') return;
    if (main === undefined) main = tag;
    else if (tag !== main && !partial.includes(tag)) partial.push(tag);
    // As in metadata-action, the first (highest-priority) tag decides `latest`.
    if (latest === undefined) latest = latestFor(autoLatest);
  };
  // A rule's prefix/suffix wins over the flavor's.
  const affix = (rule: Rule, value: string): string => {
    const prefix = 'prefix' in rule.attrs ? exp(rule.attrs.prefix, 'tags', rule.line) : exp(flavor.prefix, 'flavor', `prefix=${flavor.prefix}`);
    const suffix = 'suffix' in rule.attrs ? exp(rule.attrs.suffix, 'tags', rule.line) : exp(flavor.suffix, 'flavor', `suffix=${flavor.suffix}`);
    return `${prefix}${value}${suffix}`;
  };

  for (const rule of rules) {
    const enable = exp(rule.attrs.enable ?? 'true', 'tags', rule.line)
      .trim()
      .toLowerCase();
    if (enable !== 'true' && enable !== 'false') {
      throw bad(`enable='${rule.attrs.enable}' in '${rule.line}' must be true or false (or an expression such as {{is_default_branch}}).`);
    }
    if (enable === 'false') continue;

    switch (rule.type) {
      case 'schedule': {
        if (!/schedule/.test(ctx.eventName)) break;
        add(affix(rule, exp(rule.attrs.pattern ?? 'nightly', 'tags', rule.line)), false);
        break;
      }
      case 'semver': {
        const raw = versionSource(rule);
        if (raw === undefined) break;
        const version = parseSemver(raw);
        if (!version) {
          warn(`'${raw}' is not a valid semantic version (https://semver.org), so '${rule.line}' adds no tag.`);
          break;
        }
        const pattern = rule.attrs.pattern;
        const values: Record<string, string> = {
          raw: version.raw,
          version: version.version,
          major: String(version.major),
          minor: String(version.minor),
          patch: String(version.patch),
        };
        const helpers: Helpers = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, () => v]));
        // Pre-releases only get {{version}} (or {{raw}} when the pattern is
        // exactly that): no 1 / 1.2 moving tags and no latest.
        const prerelease = version.prerelease.length > 0;
        const effective = prerelease && !/^\{\{\s*raw\s*\}\}$/.test(pattern) ? '{{version}}' : pattern;
        add(affix(rule, render(effective, helpers, SEMVER_EXPRESSIONS, 'tags', rule.line)), !prerelease);
        break;
      }
      case 'match': {
        const raw = versionSource(rule, false);
        if (raw === undefined) break;
        const regex = matchRegex(rule.attrs.pattern, rule.line);
        const found = raw.match(regex);
        const group = Number(rule.attrs.group ?? '0');
        if (!found) {
          warn(`pattern '${rule.attrs.pattern}' does not match '${raw}', so '${rule.line}' adds no tag.`);
        } else if (found[group] === undefined) {
          warn(`group ${group} of pattern '${rule.attrs.pattern}' matched nothing in '${raw}', so '${rule.line}' adds no tag.`);
        } else {
          add(affix(rule, found[group]), true);
        }
        break;
      }
      case 'edge': {
        if (!branch) break;
        const edgeBranch = rule.attrs.branch || ctx.defaultBranch || '';
        if (branch === edgeBranch) add(affix(rule, 'edge'), false);
        break;
      }
      case 'ref': {
        const event = rule.attrs.event;
        if (event === 'branch' && branch) add(affix(rule, branch), false);
        else if (event === 'tag' && gitTag) add(affix(rule, gitTag), true);
        else if (event === 'pr' && ref.startsWith('refs/pull/')) {
          add(affix(rule, ref.slice('refs/pull/'.length).replace(/\/merge$/, '')), false);
        }
        break;
      }
      case 'raw': {
        add(affix(rule, exp(rule.attrs.value, 'tags', rule.line)), false);
        break;
      }
      case 'sha': {
        if (!sha) break;
        add(affix(rule, rule.attrs.format === 'long' ? sha : shortSha), false);
        break;
      }
    }
  }

  function versionSource(rule: Rule, replaceSlashes = true): string | undefined {
    const value = rule.attrs.value ?? '';
    if (value !== '') {
      const rendered = exp(value, 'tags', rule.line).trim();
      return rendered === '' ? undefined : rendered;
    }
    if (!gitTag) return undefined;
    return replaceSlashes ? gitTag.replace(/\//g, '-') : gitTag;
  }

  const tagNames: string[] = [];
  if (main !== undefined) {
    tagNames.push(main, ...partial);
    if (latest) {
      const name = sanitizeTag(
        `${flavor.prefixLatest ? exp(flavor.prefix, 'flavor', `prefix=${flavor.prefix}`) : ''}latest${flavor.suffixLatest ? exp(flavor.suffix, 'flavor', `suffix=${flavor.suffix}`) : ''}`,
      );
      if (!tagNames.includes(name)) tagNames.push(name);
    }
  }
  const tags: string[] = [];
  for (const image of images) {
    for (const name of tagNames) {
      const full = `${image}:${name}`;
      if (!tags.includes(full)) tags.push(full);
    }
  }

  const version = main ?? '';
  const repoName = ctx.repository.includes('/') ? ctx.repository.slice(ctx.repository.indexOf('/') + 1) : ctx.repository;
  const repoUrl = ctx.repository ? `${ctx.serverUrl.replace(/\/+$/, '')}/${ctx.repository}` : '';
  const merged = new Map<string, string>([
    ['org.opencontainers.image.title', repoName],
    ['org.opencontainers.image.description', ctx.repoDescription ?? ''],
    ['org.opencontainers.image.url', repoUrl],
    ['org.opencontainers.image.source', repoUrl],
    ['org.opencontainers.image.version', version],
    ['org.opencontainers.image.created', now.toISOString()],
    ['org.opencontainers.image.revision', sha],
    ['org.opencontainers.image.licenses', ctx.repoLicense ?? ''],
  ]);
  for (const raw of req.labels ?? []) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const rendered = exp(line, 'labels', line);
    const eq = rendered.indexOf('=');
    if (eq <= 0) throw new ConfigurationError(`'${line}' is not of the form key=value.`, 'labels');
    merged.set(rendered.slice(0, eq).trim(), rendered.slice(eq + 1));
  }
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  for (const key of [...merged.keys()].sort((a, b) => a.localeCompare(b))) {
    labels[key] = merged.get(key)!;
    if (key.startsWith('org.opencontainers.image.')) annotations[key] = labels[key];
  }

  return { version, tags, tagNames, labels, annotations };
}

// ---------------------------------------------------------------------------
// Inputs

function bad(message: string, input = 'tags'): ConfigurationError {
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

function parseTags(text: string): Rule[] {
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

  let priority = DEFAULT_PRIORITY[type];
  if (attrs.priority !== undefined) {
    if (!/^-?\d+$/.test(attrs.priority)) {
      throw bad(`priority='${attrs.priority}' in '${line}' must be a whole number (higher comes first; default ${priority}).`);
    }
    priority = Number(attrs.priority);
  }
  return { type, attrs, priority, line };
}

function parseFlavor(text: string): Flavor {
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
function parseImages(entries: string[]): string[] {
  const out: string[] = [];
  let seen = 0;
  for (const entry of entries.flatMap((e) => lines(e))) {
    const fields = splitFields(entry, 'images');
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
          if (v !== 'true' && v !== 'false') throw bad(`enable='${value}' in '${entry}' must be true or false.`, 'images');
          image.enable = v === 'true';
        } else throw bad(`unknown attribute '${key}' in '${entry}'. Use name= and enable=.`, 'images');
      }
      if (!image.name) throw bad(`'${entry}' has no image name; write name=<registry>/<repository>.`, 'images');
      candidates.push(image);
    }
    for (const { name, enable } of candidates) {
      seen++;
      const lower = name.toLowerCase();
      const lastSlash = lower.lastIndexOf('/');
      if (lower.includes('@') || lower.slice(lastSlash + 1).includes(':')) {
        throw bad(`'${name}' includes a tag or digest; give only the repository (e.g. ghcr.io/org/app): tags come from the tags input.`, 'images');
      }
      if (!REPOSITORY.test(lower)) {
        throw bad(
          `'${name}' is not a valid image repository. Use [registry[:port]/]path with letters, digits and . _ - separators, e.g. ghcr.io/org/app.`,
          'images',
        );
      }
      if (enable && !out.includes(lower)) out.push(lower);
    }
  }
  if (seen === 0) throw bad('no image given. Name at least one repository, e.g. ghcr.io/org/app.', 'images');
  return out;
}

// ---------------------------------------------------------------------------
// Tags and templates

/**
 * A valid Docker tag: [A-Za-z0-9_.-], not starting with '.' or '-', at most
 * 128 characters. metadata-action only replaces invalid characters; the
 * other two rules come from the Docker reference grammar.
 */
export function sanitizeTag(tag: string): string {
  return tag
    .replace(/[^a-zA-Z0-9._-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128);
}

type Fail = (message: string) => never;
type Helper = (args: string[], hash: Record<string, string>, fail: Fail) => string;
type Helpers = Record<string, Helper>;

/** A tiny subset of Handlebars: `{{name}}` and `{{name 'arg' key='value'}}`. */
function render(template: string, helpers: Helpers, valid: string[], input: string, where: string): string {
  let out = '';
  let pos = 0;
  for (;;) {
    const open = template.indexOf('{{', pos);
    if (open < 0) return out + template.slice(pos);
    const close = template.indexOf('}}', open + 2);
    if (close < 0) throw bad(`'{{' without '}}' in '${where}'.`, input);
    out += template.slice(pos, open);
    const expression = template.slice(open, close + 2);
    const fail: Fail = (message) => {
      throw bad(`${expression} in '${where}' ${message}.`, input);
    };
    const { name, args, hash } = parseExpression(template.slice(open + 2, close), fail);
    const helper = Object.hasOwn(helpers, name) ? helpers[name] : undefined;
    if (!helper) {
      throw bad(`unknown expression ${expression} in '${where}'. Use one of: ${valid.map((v) => `{{${v}}}`).join(', ')}.`, input);
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

// Letters moment.js treats as format tokens; other letters are printed as is.
const MOMENT_TOKEN_LETTERS = /[MQDdEewWYygGAaHhkmsSzZXxN]/;

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

// ---------------------------------------------------------------------------
// Semantic versions

export interface SemVer {
  raw: string;
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
  build: string[];
  /** major.minor.patch[-prerelease], without build metadata. */
  version: string;
}

const NUM = '0|[1-9]\\d*';
const PRE_ID = `(?:${NUM}|\\d*[a-zA-Z-][0-9a-zA-Z-]*)`;
const SEMVER = new RegExp(
  `^v?(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$`,
);

/** Strict SemVer 2.0.0 with an optional leading 'v' (what `semver.valid` accepts). */
export function parseSemver(text: string): SemVer | undefined {
  const raw = text.trim();
  const m = SEMVER.exec(raw);
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (![major, minor, patch].every(Number.isSafeInteger)) return undefined;
  const prerelease = m[4] ? m[4].split('.') : [];
  const build = m[5] ? m[5].split('.') : [];
  const version = `${major}.${minor}.${patch}${prerelease.length ? `-${prerelease.join('.')}` : ''}`;
  return { raw, major, minor, patch, prerelease, build, version };
}

function matchRegex(pattern: string, line: string): RegExp {
  const literal = /^\/(.+)\/([a-z]*)$/.exec(pattern);
  try {
    return literal ? new RegExp(literal[1], literal[2]) : new RegExp(pattern);
  } catch (err) {
    throw bad(`pattern '${pattern}' in '${line}' is not a valid regular expression: ${(err as Error).message}.`);
  }
}
