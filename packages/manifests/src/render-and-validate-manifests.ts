/** The action's step: render and validate, write the bundle and the reports, annotate, give the verdict. */
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigurationError, displayPath, log, table } from '@kubeline/toolkit';
import { isWithin } from './sources';
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

  prepareOutputDir(settings.outputDir, settings.workspace);
  const files = { manifests: settings.bundleFile, sarif: join(settings.outputDir, 'results.sarif'), junit: join(settings.outputDir, 'junit.xml') };
  writeOutput(files.manifests, result.bundle.text);
  writeOutput(files.sarif, JSON.stringify(toSarif(result.findings, { toolVersion: VERSION }), null, 2) + '\n');
  const sourceOf = new Map(result.manifests.map((m) => [describeObject(objectRef(m.object)), displayPath(m.origin.source ?? m.origin.file)]));
  writeOutput(files.junit, toJUnit(result.findings, result.objects, { name: 'render-and-validate-manifests', sourceOf: (ref) => sourceOf.get(describeObject(ref)) }));

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

/**
 * Creates the output folder. One named inside the workspace (or RUNNER_TEMP) must really be there:
 * a link in the checkout may not send the outputs elsewhere on the runner. A folder named outside
 * both is the workflow's own choice and is used as given.
 */
export function prepareOutputDir(outputDir: string, workspace: string, runnerTemp = process.env.RUNNER_TEMP): void {
  for (const root of [workspace, runnerTemp]) {
    if (!root || !isWithin(resolve(root), resolve(outputDir))) continue;
    const realRoot = realpathSync(root);
    // The deepest part that exists: links resolved, it must stay under the root it is named under.
    let existing = resolve(outputDir);
    while (!lstatSync(existing, { throwIfNoEntry: false })) existing = dirname(existing);
    let real: string;
    try {
      real = realpathSync(existing);
    } catch {
      real = existing;
    }
    if (!isWithin(realRoot, real))
      throw new ConfigurationError(`"${displayPath(outputDir)}" leads to ${real}, outside the workspace (${realRoot}) through a symbolic link. Use a folder in the repository or under RUNNER_TEMP that is not a link.`, 'output-dir');
    break;
  }
  mkdirSync(outputDir, { recursive: true });
}

/**
 * Writes a file without following a link at its name: a fresh temporary file (O_EXCL, which never
 * follows links) renamed over it, so a symlink there is replaced, never written through.
 */
export function writeOutput(file: string, text: string): void {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(temp, text, { flag: 'wx' });
  try {
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** The job summary: what was rendered, the images injected, the findings. */
export function manifestsSummary(outcome: ManifestOutcome): string {
  let md = `### render-and-validate-manifests\n\n${outcome.description}, Kubernetes ${outcome.kubernetesVersion}.\n\n`;
  if (outcome.replacements.length)
    md += table(['Object', 'Container', 'Image'], outcome.replacements.map((r) => [describeObject(r.object), r.container, `${r.to}`])) + '\n';
  md += summaryMarkdown(outcome.findings, outcome.objects);
  return md;
}
