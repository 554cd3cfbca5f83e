import { CommandLineTools, manifestsSummary, readManifestSettings, renderAndValidateManifests, runParseWorkerIfAny } from '@kubeline/manifests';
import { Inputs, runAction, setOutput, StepFailure, writeSummary } from '@kubeline/toolkit';

// This bundle is also the entry of the threads that parse big bundles in parallel.
if (!runParseWorkerIfAny()) await runAction('render-and-validate-manifests', async () => {
  const settings = { ...readManifestSettings(new Inputs()), workerEntry: import.meta.url };
  const outcome = await renderAndValidateManifests(settings, new CommandLineTools());
  setOutput('manifests', outcome.files.manifests);
  setOutput('objects', JSON.stringify(outcome.objects));
  setOutput('images', outcome.images.join('\n'));
  setOutput('errors', String(outcome.errors));
  setOutput('warnings', String(outcome.warnings));
  setOutput('sarif', outcome.files.sarif);
  setOutput('junit', outcome.files.junit);
  await writeSummary(manifestsSummary(outcome));
  if (outcome.failure) throw new StepFailure(outcome.failure);
});
