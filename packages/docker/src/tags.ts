/** Tag and label rules in docker/metadata-action syntax: which tags and OCI labels a run gets. */
import parseSemverText from 'semver/functions/parse.js';
import { ConfigurationError, log, type RunContext } from '@kubeline/toolkit';
import { type Flavor, type Rule, type RuleType, bad, matchRegex, parseFlavor, parseImages, parseTags } from './tag-inputs';
import { type Helpers, dateExpression, renderTemplate } from './tag-template';

/*
 * The rules (types, default priorities, `latest=auto`, prefixes and suffixes,
 * global expressions) follow metadata-action's documented behaviour, so a
 * workflow migrating from it keeps its configuration; where this module
 * differs on purpose it says so next to the code.
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

/** What the rules read from the run, and the global expressions rendered against it. */
interface RuleContext {
  eventName: string;
  defaultBranch: string;
  /** github.ref, or the PR's merge ref on pull_request_target. */
  ref: string;
  branch: string;
  gitTag: string;
  sha: string;
  shortSha: string;
  /** Renders `text` with the global expressions; `input`/`where` name it in errors. */
  expand: (text: string, where: string, input?: string) => string;
  warn: (message: string) => void;
}

/** A rule's tag before prefix and suffix, and whether it makes `latest` under latest=auto. */
interface RuleTag {
  value: string;
  autoLatest: boolean;
}

export function computeMetadata(req: MetadataRequest): ImageMetadata {
  const now = req.now ?? new Date();
  if (!Number.isInteger(req.shaLength) || req.shaLength < 1) {
    throw new ConfigurationError(`the short sha length must be a whole number of at least 1, not ${req.shaLength}.`);
  }
  const images = parseImages(req.images);
  const flavor = parseFlavor(req.flavor);
  const rules = parseTags(req.tags);
  const run = ruleContext(req, now);
  checkTemplates(rules, flavor, run);

  const tagNames = applyRules(rules, flavor, run);
  const tags: string[] = [];
  for (const image of images) {
    for (const name of tagNames) {
      const full = `${image}:${name}`;
      if (!tags.includes(full)) tags.push(full);
    }
  }
  const version = tagNames[0] ?? '';
  return { version, tags, tagNames, ...ociLabels(req, run, version, now) };
}

function ruleContext(req: MetadataRequest, now: Date): RuleContext {
  const ctx = req.context;
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
  const globals: Helpers = {
    branch: () => branch,
    tag: () => gitTag,
    sha: () => shortSha,
    base_ref: () => baseRef,
    is_default_branch: () => String(isDefaultBranch),
    is_not_default_branch: () => String(!isDefaultBranch),
    date: dateExpression(now),
    commit_date: dateExpression(ctx.commitDate),
  };
  return {
    eventName: ctx.eventName,
    defaultBranch: ctx.defaultBranch || '',
    ref,
    branch,
    gitTag,
    sha,
    shortSha,
    expand: (text, where, input = 'tags') => renderTemplate(text, globals, GLOBAL_EXPRESSIONS, input, where),
    warn: req.warn ?? log.warning,
  };
}

/**
 * Renders every template once up front, whatever the event, so a typo in a
 * rule fails on the first run, not on the first run that would use it.
 */
function checkTemplates(rules: Rule[], flavor: Flavor, run: RuleContext): void {
  const sample: Helpers = { raw: () => 'v1.2.3', version: () => '1.2.3', major: () => '1', minor: () => '2', patch: () => '3' };
  for (const rule of rules) {
    for (const attr of ['enable', 'prefix', 'suffix', 'value']) {
      if (rule.attrs[attr] !== undefined) run.expand(rule.attrs[attr], rule.line);
    }
    if (rule.type === 'schedule' && rule.attrs.pattern !== undefined) run.expand(rule.attrs.pattern, rule.line);
    if (rule.type === 'semver') renderTemplate(rule.attrs.pattern, sample, SEMVER_EXPRESSIONS, 'tags', rule.line);
  }
  flavorPrefix(flavor, run);
  flavorSuffix(flavor, run);
}

const flavorPrefix = (flavor: Flavor, run: RuleContext): string => run.expand(flavor.prefix, `prefix=${flavor.prefix}`, 'flavor');
const flavorSuffix = (flavor: Flavor, run: RuleContext): string => run.expand(flavor.suffix, `suffix=${flavor.suffix}`, 'flavor');

const RULE_TAGS: Record<RuleType, (rule: Rule, run: RuleContext) => RuleTag | undefined> = {
  schedule: scheduleTag,
  semver: semverTag,
  match: matchTag,
  edge: edgeTag,
  ref: refTag,
  raw: rawTag,
  sha: shaTag,
};

/** The tag names of the enabled rules, in priority order, deduplicated, with `latest` last when it applies. */
function applyRules(rules: Rule[], flavor: Flavor, run: RuleContext): string[] {
  const names: string[] = [];
  let latest: boolean | undefined;
  for (const rule of rules) {
    if (!isEnabled(rule, run)) continue;
    const found = RULE_TAGS[rule.type](rule, run);
    if (!found) continue;
    // A rule's prefix/suffix wins over the flavor's.
    const prefix = 'prefix' in rule.attrs ? run.expand(rule.attrs.prefix, rule.line) : flavorPrefix(flavor, run);
    const suffix = 'suffix' in rule.attrs ? run.expand(rule.attrs.suffix, rule.line) : flavorSuffix(flavor, run);
    const name = sanitizeTag(`${prefix}${found.value}${suffix}`);
    if (name === '') continue;
    if (!names.includes(name)) names.push(name);
    // As in metadata-action, the first (highest-priority) tag decides `latest`.
    latest ??= flavor.latest === 'auto' ? found.autoLatest : flavor.latest === 'true';
  }
  if (latest) {
    const name = sanitizeTag(
      `${flavor.prefixLatest ? flavorPrefix(flavor, run) : ''}latest${flavor.suffixLatest ? flavorSuffix(flavor, run) : ''}`,
    );
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

function isEnabled(rule: Rule, run: RuleContext): boolean {
  const enable = run
    .expand(rule.attrs.enable ?? 'true', rule.line)
    .trim()
    .toLowerCase();
  if (enable !== 'true' && enable !== 'false') {
    throw bad(`enable='${rule.attrs.enable}' in '${rule.line}' must be true or false (or an expression such as {{is_default_branch}}).`);
  }
  return enable === 'true';
}

function scheduleTag(rule: Rule, run: RuleContext): RuleTag | undefined {
  if (!/schedule/.test(run.eventName)) return undefined;
  return { value: run.expand(rule.attrs.pattern ?? 'nightly', rule.line), autoLatest: false };
}

function semverTag(rule: Rule, run: RuleContext): RuleTag | undefined {
  const raw = versionSource(rule, run);
  if (raw === undefined) return undefined;
  const version = parseSemver(raw);
  if (!version) {
    run.warn(`'${raw}' is not a valid semantic version (https://semver.org), so '${rule.line}' adds no tag.`);
    return undefined;
  }
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
  const pattern = prerelease && !/^\{\{\s*raw\s*\}\}$/.test(rule.attrs.pattern) ? '{{version}}' : rule.attrs.pattern;
  return { value: renderTemplate(pattern, helpers, SEMVER_EXPRESSIONS, 'tags', rule.line), autoLatest: !prerelease };
}

function matchTag(rule: Rule, run: RuleContext): RuleTag | undefined {
  const raw = versionSource(rule, run, false);
  if (raw === undefined) return undefined;
  const found = raw.match(matchRegex(rule.attrs.pattern, rule.line));
  const group = Number(rule.attrs.group ?? '0');
  if (!found) {
    run.warn(`pattern '${rule.attrs.pattern}' does not match '${raw}', so '${rule.line}' adds no tag.`);
  } else if (found[group] === undefined) {
    run.warn(`group ${group} of pattern '${rule.attrs.pattern}' matched nothing in '${raw}', so '${rule.line}' adds no tag.`);
  } else {
    return { value: found[group], autoLatest: true };
  }
  return undefined;
}

function edgeTag(rule: Rule, run: RuleContext): RuleTag | undefined {
  if (!run.branch || run.branch !== (rule.attrs.branch || run.defaultBranch)) return undefined;
  return { value: 'edge', autoLatest: false };
}

function refTag(rule: Rule, run: RuleContext): RuleTag | undefined {
  const event = rule.attrs.event;
  if (event === 'branch' && run.branch) return { value: run.branch, autoLatest: false };
  if (event === 'tag' && run.gitTag) return { value: run.gitTag, autoLatest: true };
  if (event === 'pr' && run.ref.startsWith('refs/pull/')) {
    return { value: run.ref.slice('refs/pull/'.length).replace(/\/merge$/, ''), autoLatest: false };
  }
  return undefined;
}

function rawTag(rule: Rule, run: RuleContext): RuleTag {
  return { value: run.expand(rule.attrs.value, rule.line), autoLatest: false };
}

function shaTag(rule: Rule, run: RuleContext): RuleTag | undefined {
  if (!run.sha) return undefined;
  return { value: rule.attrs.format === 'long' ? run.sha : run.shortSha, autoLatest: false };
}

/** The version a semver or match rule reads: its value= when given, else the git tag. */
function versionSource(rule: Rule, run: RuleContext, replaceSlashes = true): string | undefined {
  const value = rule.attrs.value ?? '';
  if (value !== '') {
    const rendered = run.expand(value, rule.line).trim();
    return rendered === '' ? undefined : rendered;
  }
  if (!run.gitTag) return undefined;
  return replaceSlashes ? run.gitTag.replace(/\//g, '-') : run.gitTag;
}

/** The OCI labels from the repository and the version, then the user's labels over them, sorted by key. */
function ociLabels(req: MetadataRequest, run: RuleContext, version: string, now: Date): Pick<ImageMetadata, 'labels' | 'annotations'> {
  const ctx = req.context;
  const repoName = ctx.repository.includes('/') ? ctx.repository.slice(ctx.repository.indexOf('/') + 1) : ctx.repository;
  const repoUrl = ctx.repository ? `${ctx.serverUrl.replace(/\/+$/, '')}/${ctx.repository}` : '';
  const merged = new Map<string, string>([
    ['org.opencontainers.image.title', repoName],
    ['org.opencontainers.image.description', ctx.repoDescription ?? ''],
    ['org.opencontainers.image.url', repoUrl],
    ['org.opencontainers.image.source', repoUrl],
    ['org.opencontainers.image.version', version],
    ['org.opencontainers.image.created', now.toISOString()],
    ['org.opencontainers.image.revision', run.sha],
    ['org.opencontainers.image.licenses', ctx.repoLicense ?? ''],
  ]);
  for (const raw of req.labels ?? []) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const rendered = run.expand(line, line, 'labels');
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
  return { labels, annotations };
}

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

/** Strict SemVer 2.0.0 with an optional leading 'v', read by `semver` as metadata-action reads it (`semver.valid`). */
export function parseSemver(text: string): SemVer | undefined {
  const raw = text.trim();
  const parsed = parseSemverText(raw);
  if (!parsed) return undefined;
  const { major, minor, patch, build, version } = parsed;
  return { raw, major, minor, patch, prerelease: parsed.prerelease.map(String), build: [...build], version };
}
