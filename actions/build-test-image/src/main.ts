import { DockerCli, buildTestImage, readBuildSettings, testImageSummary } from '@kubeline/docker';
import { Inputs, runAction, runContext, setOutput, writeSummary } from '@kubeline/toolkit';

await runAction('build-test-image', async () => {
  const inputs = new Inputs();
  const settings = readBuildSettings(inputs);
  const outcome = await buildTestImage(new DockerCli(), settings, inputs.string('image'), runContext());
  setOutput('image', outcome.image);
  setOutput('image-id', outcome.imageId);
  setOutput('target', outcome.target);
  setOutput('stages', JSON.stringify(outcome.stages));
  setOutput('builder', outcome.builder);
  await writeSummary(testImageSummary(outcome));
});
