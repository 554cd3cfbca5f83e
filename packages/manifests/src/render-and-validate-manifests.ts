/** The action's step: render and validate, write the bundle and the reports, annotate, give the verdict. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { displayPath, log, table } from '@kubeline/toolkit';
import type { ManifestSettings } from './inputs';
import { type PipelineResult, renderAndValidate } from './pipeline';
import { annotateFindings, summaryMarkdown, tally } from './findings';
import { toJUnit } from './junit-report';
import { toSarif } from './sarif';
import type { RenderTools } from './tools';
import { describeObject, objectRef } from '@kubeline/k8s';

export interface ManifestOutcome extends PipelineResult {
  errors: number;
  warnings: number;
  files: { manifests: string; sarif: string; junit: string };
  /** Why the step fails (errors, or warnings with fail-on: warning); undefined when it passes. */
  failure?: string;
}

const VERSION = '0.1.0';

/** Renders, validates, writes the bundle and the reports, annotates and decides pass or fail. */
export async function renderAndValidateManifests(settings: ManifestSettings, tools: RenderTools): Promise<ManifestOutcome> {
  const result = await renderAndValidate(settings, tools);
  log.info(`Rendered ${result.description}: ${result.objects.length} object(s); validating against Kubernetes ${result.kubernetesVersion} (schemas from ${result.schemaSource}).`);
  for (const r of result.replacements) log.info(`image: ${describeObject(r.object)} container ${r.container}: ${r.from} → ${r.to}`);

  mkdirSync(settings.outputDir, { recursive: true });
  const files = { manifests: settings.bundleFile, sarif: join(settings.outputDir, 'results.sarif'), junit: join(settings.outputDir, 'junit.xml') };
  writeFileSync(files.manifests, result.bundle.text);
  writeFileSync(files.sarif, JSON.stringify(toSarif(result.findings, { toolVersion: VERSION }), null, 2) + '\n');
  const sourceOf = new Map(result.manifests.map((m) => [describeObject(objectRef(m.object)), displayPath(m.origin.source ?? m.origin.file)]));
  writeFileSync(files.junit, toJUnit(result.findings, result.objects, { name: 'render-and-validate-manifests', sourceOf: (ref) => sourceOf.get(describeObject(ref)) }));

  annotateFindings(result.findings);
  const { errors, warnings } = tally(result.findings);
  const failing = errors > 0 || (settings.failOn === 'warning' && warnings > 0);
  return {
    ...result,
    errors,
    warnings,
    files,
    failure: failing ? `${errors} error(s)${settings.failOn === 'warning' ? ` and ${warnings} warning(s)` : ''} in ${result.objects.length} object(s); see the annotations and the job summary` : undefined,
  };
}

/** The job summary: what was rendered, the images injected, the findings. */
export function manifestsSummary(outcome: ManifestOutcome): string {
  let md = `### render-and-validate-manifests\n\n${outcome.description}, Kubernetes ${outcome.kubernetesVersion}.\n\n`;
  if (outcome.replacements.length)
    md += table(['Object', 'Container', 'Image'], outcome.replacements.map((r) => [describeObject(r.object), r.container, `${r.to}`])) + '\n';
  md += summaryMarkdown(outcome.findings, outcome.objects);
  return md;
}
