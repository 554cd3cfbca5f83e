import * as core from '@actions/core';
import { DockerCli, logoutFromState, pushImage, pushSummary, readPushSettings } from '@kubeline/docker';
import { Inputs, runAction, runContext, writeSummary } from '@kubeline/toolkit';

await runAction(
  'push-image',
  async () => {
    const outcome = await pushImage(new DockerCli(), readPushSettings(new Inputs()), runContext());
    core.setOutput('digest', outcome.digest);
    core.setOutput('image-ref', outcome.imageRef);
    core.setOutput('image-id', outcome.build.imageId);
    core.setOutput('tags', outcome.metadata.tags.join('\n'));
    core.setOutput('version', outcome.metadata.version);
    core.setOutput('labels', JSON.stringify(outcome.metadata.labels));
    core.setOutput('metadata', JSON.stringify({ digest: outcome.digest, imageRef: outcome.imageRef, pushed: outcome.pushed, ...outcome.metadata }));
    await writeSummary(pushSummary(outcome));
  },
  () => logoutFromState(new DockerCli()),
);
