/** promote's job summary: what moved from where to where, the proof, and what was refused and why. */
import { deploySummary } from '@kubeline/kube';
import { table } from '@kubeline/toolkit';
import type { PromoteSettings } from './inputs';
import type { PromoteOutcome } from './promote';

const ICON = { promoted: '✅', unchanged: '🟰', refused: '⛔', failed: '❌', paused: '⏸️', aborted: '⏹️' } as const;

export function promoteSummary(outcome: PromoteOutcome, settings: PromoteSettings): string {
  let md = `### promote (${settings.mode}): ${ICON[outcome.status]} ${outcome.status}\n\n`;
  const proof = outcome.proof;
  const from = `staging release \`${settings.from.release}\` in \`${settings.from.namespace}\``;
  if (outcome.status === 'refused') return `${md}**Refused:** ${outcome.failure}\n\nNothing was promoted from ${from}.\n`;
  if (proof) {
    md += `**Proof:** ${from}, revision ${proof.staging.revision} (${proof.staging.status})`;
    if (proof.staging.commit) md += `, commit \`${proof.staging.commit.slice(0, 12)}\``;
    if (proof.staging.runUrl) md += `, [run](${proof.staging.runUrl})`;
    if (proof.staging.healthySince) md += `, healthy since ${proof.staging.healthySince}`;
    md += '.\n\n';
    md += table(['Check', 'Result'], proof.checks.map((c) => [c.name, c.detail])) + '\n';
  }
  const rows: string[][] = [];
  for (const r of outcome.retagged) for (const t of r.targets) rows.push([r.source, t.ref, `retagged: ${t.mounted} mounted, ${t.copied} copied, ${t.skipped} present, ${t.bytes} bytes sent`]);
  if (outcome.deploy) for (const image of outcome.images) rows.push([image, `${settings.deploy?.release} in ${outcome.deploy.namespace}`, `deploy: ${outcome.deploy.status}${outcome.deploy.revision ? `, revision ${outcome.deploy.revision}` : ''}`]);
  for (const g of outcome.gitops) rows.push([g.digest, `${g.repository} ${g.file} (${g.branch})`, g.changed ? `committed ${g.commit.slice(0, 12)}${g.pullRequestUrl ? `, [pull request](${g.pullRequestUrl})` : ''}` : 'already there: no commit']);
  if (rows.length) md += table(['Image', 'To', 'What happened'], rows) + '\n';
  if (outcome.failure) md += `**Failed:** ${outcome.failure}\n\n`;
  if (outcome.deploy && settings.deploy) md += deploySummary(outcome.deploy, settings.deploy.release);
  return md;
}
