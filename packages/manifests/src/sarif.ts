/** The findings as a SARIF 2.1.0 log for code scanning: rules, results, stable fingerprints. */
import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { displayPath } from '@kubeline/toolkit';
import { describeObject, type FieldPath, formatPath, type ObjectRef } from '@kubeline/k8s';
import { objectKey, sortFindings, TOOL_NAME, TOOL_URI } from './findings';
import type { Finding, Severity, SourceLocation } from './types';

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
