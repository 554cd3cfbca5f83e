/** Findings in one stable order, their counts, annotations at file:line and the job summary table. */
import { annotate, log, table } from '@kubeline/toolkit';
import { describeObject, formatPath, type ObjectRef } from '@kubeline/k8s';
import { type Finding, type Severity, type SourceLocation } from './types';

/*
 * The findings of one validation, as the user meets them: annotations at
 * file:line, a job summary table (here), a SARIF log for code scanning
 * (sarif.ts) and a JUnit report for test dashboards (junit-report.ts). Every
 * view lists findings in one stable order (compareFindings), so two runs over
 * the same bundle give the same files.
 */

export const TOOL_NAME = 'kubeline render-and-validate-manifests';
export const TOOL_URI = 'https://github.com/kubeline/kubeline';

// ---------------------------------------------------------------------------
// Order and counts

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Code-unit order: the same on every machine and locale, unlike localeCompare. */
export function compareText(a: string | undefined, b: string | undefined): number {
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

export function objectKey(ref: ObjectRef | undefined): string | undefined {
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

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function locationText(loc: SourceLocation | undefined): string {
  if (!loc) return '';
  return `${loc.file}:${loc.line}${loc.column !== undefined ? `:${loc.column}` : ''}`;
}

/** One finding as plain text: what, which object and field, where, how to fix. */
export function findingText(f: Finding): string {
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
  if (hidden.length) log.info(`…and ${hidden.join(', ')} more, not annotated: see the job summary and the SARIF and JUnit reports.`);
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
