/** How a test report is shown: the job summary's Markdown (totals and a table of failures) and one annotation per failure. */
import { table } from '@kubeline/toolkit';
import type { TestCaseResult, TestReport } from './junit';

/** The name a person would search for: `classname › name`, without repeating. */
function testTitle(c: TestCaseResult): string {
  const scope = c.classname || c.suite;
  if (!c.name) return scope;
  if (!scope || c.name.includes(scope)) return c.name;
  return `${scope} › ${c.name}`;
}

export function locationText(c: Pick<TestCaseResult, 'file' | 'line'>): string {
  if (!c.file) return '';
  return c.line !== undefined ? `${c.file}:${c.line}` : c.file;
}

function firstLine(text: string | undefined, max = 200): string {
  const line = (text ?? '').split('\n').find((l) => l.trim()) ?? '';
  const trimmed = line.trim();
  return trimmed.length > max ? trimmed.slice(0, max - 1) + '…' : trimmed;
}

/** Text that Markdown (GitHub's, which allows HTML) shows as written. */
function escapeMarkdown(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function formatSeconds(s: number): string {
  return s < 10 ? `${s.toFixed(2)} s` : s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function totalsLine(report: TestReport): string {
  if (report.total === 0) return 'No test cases in the report.';
  const bad = report.failed + report.errors;
  const parts = [`${report.passed} passed`];
  if (report.failed) parts.push(`${report.failed} failed`);
  if (report.errors) parts.push(`${report.errors} errors`);
  if (report.skipped) parts.push(`${report.skipped} skipped`);
  return `${bad ? '❌' : '✅'} ${parts.join(', ')} of ${report.total} tests in ${formatSeconds(report.time)}`;
}

/** Totals, then a table of the failed and errored tests (at most `maxFailures` rows). */
export function reportSummaryMarkdown(report: TestReport, opts: { maxFailures?: number } = {}): string {
  const max = Math.max(0, opts.maxFailures ?? 25);
  const bad = report.cases.filter((c) => c.status === 'failed' || c.status === 'error');
  let md = `**Tests:** ${totalsLine(report)}\n`;
  if (!bad.length) return md;
  const rows = bad.slice(0, max).map((c) => [
    escapeMarkdown(testTitle(c)) + (c.status === 'error' ? ' (error)' : ''),
    c.file ? '`' + locationText(c).replace(/`/g, "'") + '`' : '',
    escapeMarkdown(firstLine(c.message ?? c.details)),
  ]);
  if (rows.length) md += '\n' + table(['Test', 'Location', 'Message'], rows);
  if (bad.length > rows.length) md += `\n…and ${bad.length - rows.length} more failed tests.\n`;
  return md;
}

const MAX_ANNOTATION_CHARS = 4000;

/** Long text cut in the middle: a failure's head says what, a Python traceback's tail says where. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor(max / 3);
  return `${text.slice(0, head)}\n…\n${text.slice(text.length - (max - head - 3))}`;
}

/** One annotation per failed or errored test, at the failure's file:line where known. */
export function reportAnnotations(report: TestReport): Array<{ message: string; file?: string; line?: number; title: string }> {
  return report.cases
    .filter((c) => c.status === 'failed' || c.status === 'error')
    .map((c) => {
      // The message first, unless the details already say it (XML folds an
      // attribute's line breaks into spaces, so compare words, not bytes).
      const words = (t: string): string => t.replace(/\s+/g, ' ');
      const said = words(firstLine(c.message, Infinity));
      const text = c.details && c.message && !words(c.details).includes(said) ? `${c.message}\n\n${c.details}` : (c.details ?? c.message);
      const out: { message: string; file?: string; line?: number; title: string } = {
        title: `${c.status === 'error' ? 'Error in' : 'Failed:'} ${testTitle(c)}`,
        message: shorten(text || (c.status === 'error' ? 'The test errored.' : 'The test failed.'), MAX_ANNOTATION_CHARS),
      };
      if (c.file) out.file = c.file;
      if (c.file && c.line !== undefined) out.line = c.line;
      return out;
    });
}
