import * as core from '@actions/core';
import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { annotate, displayPath, table } from '@kubeline/toolkit';
import { describeObject, type FieldPath, formatPath, type ObjectRef } from '@kubeline/k8s';
import { type Finding, type Severity, type SourceLocation } from './types';

/*
 * The findings of one validation, as the user meets them: annotations at
 * file:line, a job summary table, a SARIF log for code scanning and a JUnit
 * report for test dashboards. Every view lists findings in one stable order
 * (compareFindings), so two runs over the same bundle give the same files.
 */

export const TOOL_NAME = 'kubeline render-and-validate-manifests';
export const TOOL_URI = 'https://github.com/kubeline/kubeline';

// ---------------------------------------------------------------------------
// Order and counts

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Code-unit order: the same on every machine and locale, unlike localeCompare. */
function compareText(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1; // what has no value goes last
  if (b === undefined) return -1;
  return a < b ? -1 : 1;
}

function compareNumber(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a - b;
}

function objectKey(ref: ObjectRef | undefined): string | undefined {
  return ref && `${ref.kind}\0${ref.namespace ?? ''}\0${ref.name}\0${ref.apiVersion}`;
}

/**
 * The one order of findings in every report: severity (errors first), file,
 * line, column, rule; then object, field and message so that equal keys never
 * depend on the order findings were produced in. Findings without a file or
 * line come after those with one.
 */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    RANK[a.severity] - RANK[b.severity] ||
    compareText(a.location?.file, b.location?.file) ||
    compareNumber(a.location?.line, b.location?.line) ||
    compareNumber(a.location?.column, b.location?.column) ||
    compareText(a.rule, b.rule) ||
    compareText(objectKey(a.object), objectKey(b.object)) ||
    compareText(a.path && formatPath(a.path), b.path && formatPath(b.path)) ||
    compareText(a.message, b.message)
  );
}

/** A sorted copy (compareFindings); the input is left as it was. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(compareFindings);
}

export interface Tally {
  errors: number;
  warnings: number;
  infos: number;
}

export function tally(findings: readonly Finding[]): Tally {
  const out: Tally = { errors: 0, warnings: 0, infos: 0 };
  for (const f of findings) {
    if (f.severity === 'error') out.errors++;
    else if (f.severity === 'warning') out.warnings++;
    else out.infos++;
  }
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function locationText(loc: SourceLocation | undefined): string {
  if (!loc) return '';
  return `${loc.file}:${loc.line}${loc.column !== undefined ? `:${loc.column}` : ''}`;
}

/** One finding as plain text: what, which object and field, where, how to fix. */
function findingText(f: Finding): string {
  const head = [`[${f.severity}] ${f.rule}`];
  if (f.object) head.push(describeObject(f.object));
  if (f.location) head.push(locationText(f.location));
  const lines = [head.join(' · '), f.message];
  if (f.path?.length) lines.push(`Field: ${formatPath(f.path)}`);
  if (f.fix) lines.push(`How to fix: ${f.fix}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// Annotations

const ANNOTATION_LEVEL = { error: 'error', warning: 'warning', info: 'notice' } as const;

/**
 * One GitHub annotation per finding (at most `maxPerSeverity` of each severity), at its file and line where known
 * (errors → error, warnings → warning, info → notice).
 *
 * GitHub shows at most 10 error and 10 warning annotations (and 10 notices)
 * per step on the run and the pull request; the rest are dropped from the
 * check run without a word. So every finding is annotated, but the most
 * important come first: errors, then warnings, then notices, each by file and
 * line (compareFindings). The job summary and the SARIF and JUnit reports
 * always hold them all.
 */
export function annotateFindings(findings: readonly Finding[], maxPerSeverity = 100): void {
  // Past what GitHub shows, annotations only flood the log: the reports keep every finding.
  const shown: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of sortFindings(findings)) {
    if (++shown[f.severity] > maxPerSeverity) continue;
    const title = f.object ? `${f.rule}: ${describeObject(f.object)}` : f.rule;
    const lines = [f.message];
    if (f.path?.length) lines.push(`Field: ${formatPath(f.path)}`);
    if (f.fix) lines.push(`How to fix: ${f.fix}`);
    annotate(ANNOTATION_LEVEL[f.severity], lines.join('\n'), {
      title,
      file: f.location?.file,
      line: f.location?.line,
      column: f.location?.column,
    });
  }
  const hidden = (Object.keys(shown) as Severity[]).filter((s) => shown[s] > maxPerSeverity).map((s) => `${shown[s] - maxPerSeverity} ${s === 'info' ? 'note' : s}(s)`);
  if (hidden.length) core.info(`…and ${hidden.join(', ')} more, not annotated: see the job summary and the SARIF and JUnit reports.`);
}

// ---------------------------------------------------------------------------
// Job summary

const SEVERITY_LABEL: Record<Severity, string> = { error: '❌ error', warning: '⚠️ warning', info: 'ℹ️ info' };
const MAX_CELL = 500;

/** Text that GitHub's Markdown (which allows HTML) shows as written, on one table row. */
function summaryText(text: string): string {
  const flat = text.replace(/\r\n?/g, '\n');
  const short = flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat;
  return short.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline code; backticks inside would end it, and code spans show HTML as written. */
function code(text: string): string {
  return text ? '`' + text.replace(/\r\n?|\n/g, ' ').replace(/`/g, "'") + '`' : '';
}

export interface SummaryOptions {
  /** Rows in the table at most; the rest are counted below it. Default 200. */
  maxRows?: number;
  /** Bold lead of the counts line. Default `Manifests`. */
  title?: string;
}

/**
 * The job summary: a counts line (objects, errors, warnings), then a table of
 * the findings (object, rule, severity, message, how to fix, file:line),
 * errors first, at most `maxRows` rows.
 */
export function summaryMarkdown(findings: readonly Finding[], objects: readonly ObjectRef[], options: SummaryOptions = {}): string {
  const max = Math.max(0, options.maxRows ?? 200);
  const { errors, warnings, infos } = tally(findings);
  const mark = errors ? '❌' : warnings ? '⚠️' : '✅';
  const counts = [plural(errors, 'error'), plural(warnings, 'warning')];
  if (infos) counts.push(plural(infos, 'note'));
  let md = `**${options.title ?? 'Manifests'}:** ${mark} ${plural(objects.length, 'object')}, ${counts.join(', ')}\n`;
  if (!findings.length) return md;
  const sorted = sortFindings(findings);
  const rows = sorted.slice(0, max).map((f) => [
    f.object ? summaryText(describeObject(f.object)) + (f.path?.length ? `<br>${code(formatPath(f.path))}` : '') : '',
    code(f.rule),
    SEVERITY_LABEL[f.severity],
    summaryText(f.message),
    f.fix ? summaryText(f.fix) : '',
    code(locationText(f.location)),
  ]);
  if (rows.length) md += '\n' + table(['Object', 'Rule', 'Severity', 'Message', 'How to fix', 'Location'], rows);
  if (sorted.length > rows.length) md += `\n…and ${sorted.length - rows.length} more; see the SARIF/JUnit report.\n`;
  return md;
}

// ---------------------------------------------------------------------------
// SARIF 2.1.0

/** What the rule catalogue says about a rule; findings fill in what is missing. */
export interface RuleDescription {
  /** One sentence: what the rule checks. Default: from the rule id. */
  description?: string;
  /** How to fix what it finds (the rule's help). Default: the first finding's fix. */
  help?: string;
  helpUri?: string;
}

export interface SarifOptions {
  /** driver.version: the action's version. */
  toolVersion: string;
  /** Descriptions of rules by id. */
  rules?: Readonly<Record<string, RuleDescription>>;
  /**
   * Where to point a finding that has no location of its own, e.g. the
   * rendered bundle at the object's first line. See toSarif on why.
   */
  fallbackLocation?: (finding: Finding) => SourceLocation | undefined;
  /**
   * runs[0].automationDetails.id: code scanning's category, so that uploads
   * for several environments do not replace each other's alerts.
   */
  category?: string;
}

export type SarifLevel = 'error' | 'warning' | 'note';

export interface SarifMessage {
  text: string;
}

export interface SarifLogicalLocation {
  name: string;
  fullyQualifiedName: string;
  kind: string;
  index?: number;
  parentIndex?: number;
  properties?: Record<string, string>;
}

export interface SarifLocation {
  physicalLocation?: {
    artifactLocation: { uri: string; uriBaseId?: string };
    region?: { startLine: number; startColumn?: number };
  };
  logicalLocations?: SarifLogicalLocation[];
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: SarifMessage;
  locations?: SarifLocation[];
  partialFingerprints: Record<string, string>;
}

export interface SarifRule {
  id: string;
  shortDescription: SarifMessage;
  help?: SarifMessage;
  helpUri?: string;
  defaultConfiguration: { level: SarifLevel };
  properties: { tags: string[] };
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: Array<{
    tool: { driver: { name: string; version: string; informationUri: string; rules: SarifRule[] } };
    automationDetails?: { id: string };
    columnKind: 'utf16CodeUnits';
    logicalLocations?: SarifLogicalLocation[];
    results: SarifResult[];
  }>;
}

const SARIF_LEVEL: Record<Severity, SarifLevel> = { error: 'error', warning: 'warning', info: 'note' };

/** The key of our fingerprint in partialFingerprints; the version changes only if the hash does. */
export const FINGERPRINT_KEY = 'kubelineFinding/v1';

/** `schema/unknown-field` → `Schema: unknown field`. */
function describeRuleId(id: string): string {
  const [group, ...rest] = id.split('/');
  const words = (s: string): string => s.replace(/[-_]+/g, ' ').trim();
  const head = words(group ?? id);
  const capital = head.charAt(0).toUpperCase() + head.slice(1);
  return rest.length ? `${capital}: ${words(rest.join('/'))}` : capital;
}

/**
 * A location's file as a URI: relative to the repository (`%SRCROOT%`, which
 * code scanning resolves to the checkout) when it is, else a file: URI.
 */
function artifactLocation(file: string): { uri: string; uriBaseId?: string } {
  const path = isAbsolute(file) ? displayPath(file) : file;
  if (isAbsolute(path)) return { uri: pathToFileURL(path).href };
  const segments = path.replace(/\\/g, '/').replace(/^(\.\/)+/, '').split('/');
  return { uri: segments.map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' };
}

function physicalLocation(loc: SourceLocation): NonNullable<SarifLocation['physicalLocation']> {
  const out: NonNullable<SarifLocation['physicalLocation']> = { artifactLocation: artifactLocation(loc.file) };
  if (Number.isInteger(loc.line) && loc.line >= 1) {
    out.region = { startLine: loc.line };
    if (loc.column !== undefined && Number.isInteger(loc.column) && loc.column >= 1) out.region.startColumn = loc.column;
  }
  return out;
}

/** What identifies a finding across runs: rule, object and field; never the line, which moves. */
function fingerprintBase(f: Finding): string {
  const parts = [f.rule];
  if (f.object) parts.push(f.object.kind, f.object.namespace ?? '', f.object.name);
  else parts.push(f.location?.file ?? '');
  parts.push(f.path ? formatPath(f.path) : '');
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

/**
 * A SARIF 2.1.0 log of the findings: one run, a rule per rule id (its help is
 * how to fix), a result per finding in compareFindings order. Each result
 * names the object and field as logical locations (run.logicalLocations: the
 * object as a `resource`, the field as a `property` under it) and carries a
 * partial fingerprint of rule, object and field, not the line, so code
 * scanning keeps tracking an alert when lines move.
 *
 * Findings without a location are kept: at `fallbackLocation(finding)` when
 * that gives one, else with logical locations only. GitHub code scanning
 * rejects a whole upload if any result has no physical location
 * ("locationFromSarifResult: expected at least one location",
 * github/codeql-action#1738), so a caller that uploads must pass a fallback
 * (the action points at the rendered bundle, which always exists).
 */
export function toSarif(findings: readonly Finding[], options: SarifOptions): SarifLog {
  const sorted = sortFindings(findings);

  const rules: SarifRule[] = [];
  const ruleIndex = new Map<string, number>();
  for (const f of sorted) {
    const index = ruleIndex.get(f.rule);
    if (index !== undefined) {
      const rule = rules[index]!;
      // Sorted errors first: a rule's first finding has its most severe level.
      if (!rule.help && f.fix) rule.help = { text: f.fix };
      continue;
    }
    const doc = options.rules?.[f.rule] ?? {};
    const help = doc.help ?? f.fix;
    const rule: SarifRule = {
      id: f.rule,
      shortDescription: { text: doc.description ?? describeRuleId(f.rule) },
      defaultConfiguration: { level: SARIF_LEVEL[f.severity] },
      properties: { tags: ['kubernetes', f.rule.split('/')[0]!] },
    };
    if (help) rule.help = { text: help };
    if (doc.helpUri) rule.helpUri = doc.helpUri;
    ruleIndex.set(f.rule, rules.length);
    rules.push(rule);
  }

  const logical: SarifLogicalLocation[] = [];
  const logicalIndex = new Map<string, number>();
  const addLogical = (key: string, make: () => SarifLogicalLocation): number => {
    let index = logicalIndex.get(key);
    if (index === undefined) {
      index = logical.length;
      logical.push(make());
      logicalIndex.set(key, index);
    }
    return index;
  };
  const objectLocation = (ref: ObjectRef): number =>
    addLogical(`o\0${objectKey(ref)}`, () => {
      const properties: Record<string, string> = { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name };
      if (ref.namespace) properties.namespace = ref.namespace;
      return { name: ref.name || '(no name)', fullyQualifiedName: describeObject(ref), kind: 'resource', properties };
    });
  const fieldLocation = (ref: ObjectRef | undefined, path: FieldPath): number => {
    const parentIndex = ref ? objectLocation(ref) : undefined;
    const field = formatPath(path);
    return addLogical(`f\0${objectKey(ref) ?? ''}\0${field}`, () => {
      const out: SarifLogicalLocation = { name: field, fullyQualifiedName: ref ? `${describeObject(ref)}: ${field}` : field, kind: 'property' };
      if (parentIndex !== undefined) out.parentIndex = parentIndex;
      return out;
    });
  };

  const seen = new Map<string, number>();
  const results = sorted.map((f): SarifResult => {
    const location: SarifLocation = {};
    const where = f.location ?? options.fallbackLocation?.(f);
    if (where) location.physicalLocation = physicalLocation(where);
    const index = f.path?.length ? fieldLocation(f.object, f.path) : f.object ? objectLocation(f.object) : undefined;
    if (index !== undefined) {
      const { name, fullyQualifiedName, kind } = logical[index]!;
      location.logicalLocations = [{ index, name, fullyQualifiedName, kind }];
    }
    // The same rule, object and field twice in one run: number them, in the stable order.
    const base = fingerprintBase(f);
    const occurrence = (seen.get(base) ?? 0) + 1;
    seen.set(base, occurrence);
    const result: SarifResult = {
      ruleId: f.rule,
      ruleIndex: ruleIndex.get(f.rule)!,
      level: SARIF_LEVEL[f.severity],
      message: { text: f.fix ? `${f.message}\nHow to fix: ${f.fix}` : f.message },
      partialFingerprints: { [FINGERPRINT_KEY]: `${base}:${occurrence}` },
    };
    if (location.physicalLocation || location.logicalLocations) result.locations = [location];
    return result;
  });

  const run: SarifLog['runs'][number] = {
    tool: { driver: { name: TOOL_NAME, version: options.toolVersion, informationUri: TOOL_URI, rules } },
    columnKind: 'utf16CodeUnits',
    results,
  };
  if (options.category) run.automationDetails = { id: options.category.endsWith('/') ? options.category : `${options.category}/` };
  if (logical.length) run.logicalLocations = logical;
  return { $schema: 'https://json.schemastore.org/sarif-2.1.0.json', version: '2.1.0', runs: [run] };
}

// ---------------------------------------------------------------------------
// JUnit XML

/** Characters XML 1.0 cannot hold at all (C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates). */
const NOT_XML = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function xmlSafe(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(NOT_XML, (c) => (c.length === 1 && c >= '\uD800' && c <= '\uDFFF' ? '\uFFFD' : ''));
}

/** Element text: `>` is escaped too, so `]]>` can never appear. */
function xmlText(text: string): string {
  return xmlSafe(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute value: quotes escaped, and tabs and line breaks as references so parsers keep them. */
function xmlAttr(text: string): string {
  return xmlText(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

function attrs(values: Record<string, string | number | undefined>): string {
  let out = '';
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out += ` ${key}="${xmlAttr(String(value))}"`;
  return out;
}

export interface JUnitOptions {
  /** The report's name (`<testsuites name>`, and the suite's when there is one). */
  name: string;
  /**
   * The source file each object came from. When given, there is a suite per
   * file and a case's classname is its file; otherwise one suite, classname
   * the object's kind.
   */
  sourceOf?: (object: ObjectRef) => string | undefined;
}

interface Case {
  classname: string;
  name: string;
  file?: string;
  findings: Finding[];
}

const NO_FILE = '(bundle)';

function caseXml(c: Case, indent: string): string {
  const errors = c.findings.filter((f) => f.severity === 'error');
  const others = c.findings.filter((f) => f.severity !== 'error');
  const first = errors[0];
  const line = first?.location && first.location.file === c.file ? first.location.line : undefined;
  const open = `${indent}<testcase${attrs({ classname: c.classname, name: c.name, file: c.file, line, time: 0 })}`;
  if (!first && !others.length) return `${open}/>\n`;
  let xml = `${open}>\n`;
  if (first) {
    const message = errors.length > 1 ? `${first.message} (and ${plural(errors.length - 1, 'more error')})` : first.message;
    xml += `${indent}  <failure${attrs({ message, type: first.rule })}>${xmlText(errors.map(findingText).join('\n\n'))}</failure>\n`;
  }
  if (others.length) xml += `${indent}  <system-out>${xmlText(others.map(findingText).join('\n\n'))}</system-out>\n`;
  return `${xml}${indent}</testcase>\n`;
}

/**
 * A JUnit XML report: a test case per object (`Kind namespace/name`), failed
 * when the object has errors. Test dashboards read a case as passed or failed,
 * so:
 *
 * - errors fail the case with one `<failure>` (message and type of the first
 *   error; its text lists every error with field, fix and file:line). One,
 *   not one per error: the common JUnit schema allows a single failure per
 *   case and Jenkins reads only the first;
 * - warnings and notes go to the case's `<system-out>`, in the same form:
 *   shown beside the case, never failing it.
 *
 * Findings about no object (a file that does not parse, an image that
 * matched nothing) get a case of their own per file. `failures` counts failed
 * cases; `errors` is 0, since a finding is never the report failing to run.
 */
export function toJUnit(findings: readonly Finding[], objects: readonly ObjectRef[], options: JUnitOptions): string {
  const bySource = options.sourceOf;
  const cases: Case[] = [];
  const byObject = new Map<string, Case>();
  const addObject = (ref: ObjectRef, fallbackFile?: string): Case => {
    const file = bySource?.(ref) ?? fallbackFile;
    const c: Case = { classname: bySource ? (file ?? NO_FILE) : ref.kind || '(no kind)', name: describeObject(ref), findings: [] };
    if (file) c.file = file;
    cases.push(c);
    const key = objectKey(ref)!;
    if (!byObject.has(key)) byObject.set(key, c);
    return c;
  };
  for (const ref of objects) addObject(ref);
  const byFile = new Map<string, Case>();
  for (const f of sortFindings(findings)) {
    let c: Case | undefined;
    if (f.object) c = byObject.get(objectKey(f.object)!) ?? addObject(f.object, f.location?.file);
    else {
      const file = f.location?.file ?? NO_FILE;
      c = byFile.get(file);
      if (!c) {
        c = { classname: file, name: file, findings: [] };
        if (f.location) c.file = f.location.file;
        byFile.set(file, c);
        cases.push(c);
      }
    }
    if (!c.file && f.location) c.file = f.location.file;
    c.findings.push(f);
  }

  const suites = new Map<string, Case[]>();
  if (bySource) {
    for (const c of cases) {
      const list = suites.get(c.classname);
      if (list) list.push(c);
      else suites.set(c.classname, [c]);
    }
  } else {
    suites.set(options.name, cases);
  }
  const failed = (list: Case[]): number => list.filter((c) => c.findings.some((f) => f.severity === 'error')).length;
  const names = bySource ? [...suites.keys()].sort(compareText) : [...suites.keys()];

  let xml = `<?xml version="1.0" encoding="UTF-8"?>\n`;
  xml += `<testsuites${attrs({ name: options.name, tests: cases.length, failures: failed(cases), errors: 0, time: 0 })}>\n`;
  for (const name of names) {
    const list = suites.get(name)!;
    const file = bySource && name !== NO_FILE ? name : undefined;
    xml += `  <testsuite${attrs({ name, tests: list.length, failures: failed(list), errors: 0, skipped: 0, time: 0, file })}>\n`;
    for (const c of list) xml += caseXml(c, '    ');
    xml += '  </testsuite>\n';
  }
  return `${xml}</testsuites>\n`;
}
