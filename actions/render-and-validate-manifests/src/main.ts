import * as core from '@actions/core';
import { CommandLineTools, manifestsSummary, readManifestSettings, renderAndValidateManifests } from '@kubeline/manifests';
import { Inputs, runAction, writeSummary } from '@kubeline/toolkit';

await runAction('render-and-validate-manifests', async () => {
  const outcome = await renderAndValidateManifests(readManifestSettings(new Inputs()), new CommandLineTools());
  core.setOutput('manifests', outcome.files.manifests);
  core.setOutput('objects', JSON.stringify(outcome.objects));
  core.setOutput('images', outcome.images.join('\n'));
  core.setOutput('errors', String(outcome.errors));
  core.setOutput('warnings', String(outcome.warnings));
  core.setOutput('sarif', outcome.files.sarif);
  core.setOutput('junit', outcome.files.junit);
  await writeSummary(manifestsSummary(outcome));
  if (outcome.failure) core.setFailed(`render-and-validate-manifests: ${outcome.failure}`);
});
