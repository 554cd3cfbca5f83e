/** The one reporter of every action: log lines, groups, annotations, masking, step state and the job summary. */
import * as core from '@actions/core';
import { isAbsolute, relative } from 'node:path';

/**
 * What domain code tells the user, and the only place that talks to the runner's log: domain
 * files call this, never `@actions/core`, so the way an action reports is decided once.
 */
export const log = {
  info: (message: string): void => core.info(message),
  warning: (message: string): void => core.warning(message),
  debug: (message: string): void => core.debug(message),
  /** Runs `fn` with its output collapsed under `title`. */
  group: <T>(title: string, fn: () => Promise<T>): Promise<T> => core.group(title, fn),
  /** Masks `secret` in everything the job prints from now on. */
  mask: (secret: string): void => core.setSecret(secret),
};

/**
 * The step's own state between its main and post steps (GITHUB_STATE): what the post step needs
 * to clean up. The main and post steps are two processes of one bundle.
 */
export const stepState = {
  save: (name: string, value: string): void => core.saveState(name, value),
  get: (name: string): string => core.getState(name),
};

/** Sets one of the step's outputs (GITHUB_OUTPUT): what later steps read as `steps.<id>.outputs.<name>`. */
export function setOutput(name: string, value: string): void {
  core.setOutput(name, value);
}

/** A path as the user knows it: relative to the workspace when inside it. */
export function displayPath(path: string, workspace = process.env.GITHUB_WORKSPACE || process.cwd()): string {
  const rel = relative(workspace, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export interface Location {
  file?: string;
  line?: number;
  column?: number;
  title?: string;
}

/** A finding in a user's file: an annotation at file:line where we know it. */
export function annotate(level: 'error' | 'warning' | 'notice', message: string, where: Location = {}): void {
  const props: core.AnnotationProperties = {
    title: where.title,
    file: where.file,
    startLine: where.line,
    startColumn: where.column,
  };
  if (level === 'error') core.error(message, props);
  else if (level === 'warning') core.warning(message, props);
  else core.notice(message, props);
}

export type Cell = string | number;

/** Markdown-safe text for a summary table cell. */
function cell(value: Cell): string {
  return String(value).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A Markdown table for the job summary. */
export function table(header: string[], rows: Cell[][]): string {
  const lines = [`| ${header.map(cell).join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n') + '\n';
}

/** Appends Markdown to the job summary (no-op outside a runner). */
export async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(markdown, true).write();
}
