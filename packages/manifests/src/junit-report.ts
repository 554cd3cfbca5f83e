/** The findings as a JUnit XML report: a test case per object, its errors as the failure. */
import { describeObject, type ObjectRef } from '@kubeline/k8s';
import { compareText, findingText, objectKey, plural, sortFindings } from './findings';
import type { Finding } from './types';

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
