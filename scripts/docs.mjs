#!/usr/bin/env node
// Writes the inputs/outputs tables of each actions/<name>/README.md from its
// action.yml, between the `<!-- generated -->` markers, so the two never drift.
// `--check` fails when a README is stale.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

const root = resolve(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const START = '<!-- generated: inputs and outputs from action.yml -->';
const END = '<!-- end generated -->';
const esc = (s) => String(s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ').trim();
let stale = [];
/** Every input name across the actions: which actions take it and what it means there. */
const vocabulary = new Map();
for (const name of readdirSync(join(root, 'actions'))) {
  const yml = join(root, 'actions', name, 'action.yml');
  const readme = join(root, 'actions', name, 'README.md');
  if (!existsSync(yml) || !existsSync(readme)) continue;
  const action = parse(readFileSync(yml, 'utf8'));
  const rows = Object.entries(action.inputs ?? {}).map(
    ([k, v]) => `| \`${k}\` | ${v.required ? 'yes' : ''} | ${v.default ? `\`${esc(v.default)}\`` : ''} | ${v.deprecationMessage ? `**Deprecated.** ${esc(v.deprecationMessage)}` : esc(v.description)} |`,
  );
  for (const [k, v] of Object.entries(action.inputs ?? {})) {
    if (v.deprecationMessage) continue;
    const entry = vocabulary.get(k) ?? { actions: [], meanings: [] };
    entry.actions.push(name);
    if (!entry.meanings.includes(esc(v.description))) entry.meanings.push(esc(v.description));
    vocabulary.set(k, entry);
  }
  const outs = Object.entries(action.outputs ?? {}).map(([k, v]) => `| \`${k}\` | ${esc(v.description)} |`);
  const table = [
    START,
    '### Inputs',
    '',
    '| Name | Required | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    '### Outputs',
    '',
    '| Name | Description |',
    '| --- | --- |',
    ...outs,
    END,
  ].join('\n');
  const text = readFileSync(readme, 'utf8');
  const next = text.includes(START) ? text.replace(new RegExp(`${START}[\\s\\S]*?${END}`), table) : `${text.trimEnd()}\n\n${table}\n`;
  if (next !== text) {
    stale.push(`actions/${name}/README.md`);
    if (!check) writeFileSync(readme, next);
  }
}

// CONTRIBUTING.md's vocabulary table: one name, one meaning, across every action.
{
  const file = join(root, 'CONTRIBUTING.md');
  const VSTART = '<!-- generated: vocabulary from every action.yml -->';
  const rows = [...vocabulary.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `| \`${k}\` | ${v.actions.join(', ')} | ${v.meanings.join(' / ')} |`);
  const table = [VSTART, '| Input | Actions | Meaning |', '| --- | --- | --- |', ...rows, END].join('\n');
  const text = readFileSync(file, 'utf8');
  const next = text.includes(VSTART) ? text.replace(new RegExp(`${VSTART}[\\s\\S]*?${END}`), table) : `${text.trimEnd()}\n\n${table}\n`;
  if (next !== text) {
    stale.push('CONTRIBUTING.md');
    if (!check) writeFileSync(file, next);
  }
}
if (check && stale.length) {
  console.error(`README tables are stale: ${stale.join(', ')}. Run \`npm run build\`.`);
  process.exit(1);
}
