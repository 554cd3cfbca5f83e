import { DockerCli, logoutFromState, pushImage, pushSummary, readPushSettings } from '@kubeline/docker';
import { Inputs, runAction, runContext, setOutput, writeSummary } from '@kubeline/toolkit';

await runAction(
  'push-image',
  async () => {
    const outcome = await pushImage(new DockerCli(), readPushSettings(new Inputs()), runContext());
    setOutput('digest', outcome.digest);
    setOutput('image-ref', outcome.imageRef);
    setOutput('image-id', outcome.build.imageId);
    setOutput('tags', outcome.metadata.tags.join('\n'));
    setOutput('version', outcome.metadata.version);
    setOutput('labels', JSON.stringify(outcome.metadata.labels));
    setOutput('metadata', JSON.stringify({ digest: outcome.digest, imageRef: outcome.imageRef, pushed: outcome.pushed, ...outcome.metadata }));
    await writeSummary(pushSummary(outcome));
  },
  () => logoutFromState(new DockerCli()),
);
