import * as core from '@actions/core';
import { CommandLineTools, manifestsSummary, readManifestSettings, renderAndValidateManifests, runParseWorkerIfAny } from '@kubeline/manifests';
import { Inputs, runAction, StepFailure, writeSummary } from '@kubeline/toolkit';

// This bundle is also the entry of the threads that parse big bundles in parallel.
if (!runParseWorkerIfAny()) await runAction('render-and-validate-manifests', async () => {
  const settings = { ...readManifestSettings(new Inputs()), workerEntry: import.meta.url };
  const outcome = await renderAndValidateManifests(settings, new CommandLineTools());
  core.setOutput('manifests', outcome.files.manifests);
  core.setOutput('objects', JSON.stringify(outcome.objects));
  core.setOutput('images', outcome.images.join('\n'));
  core.setOutput('errors', String(outcome.errors));
  core.setOutput('warnings', String(outcome.warnings));
  core.setOutput('sarif', outcome.files.sarif);
  core.setOutput('junit', outcome.files.junit);
  await writeSummary(manifestsSummary(outcome));
  if (outcome.failure) throw new StepFailure(outcome.failure);
});
