import * as core from '@actions/core';
import { DockerCli, buildTestImage, readBuildSettings, testImageSummary } from '@kubeline/docker';
import { Inputs, runAction, runContext, writeSummary } from '@kubeline/toolkit';

await runAction('build-test-image', async () => {
  const inputs = new Inputs();
  const settings = readBuildSettings(inputs);
  const outcome = await buildTestImage(new DockerCli(), settings, inputs.string('image'), runContext());
  core.setOutput('image', outcome.image);
  core.setOutput('image-id', outcome.imageId);
  core.setOutput('target', outcome.target);
  core.setOutput('stages', JSON.stringify(outcome.stages));
  core.setOutput('builder', outcome.builder);
  await writeSummary(testImageSummary(outcome));
});
