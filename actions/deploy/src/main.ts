import * as core from '@actions/core';
import { deploy, deployPost, deploySummary, readDeploySettings } from '@kubeline/kube';
import { Inputs, runAction, writeSummary } from '@kubeline/toolkit';

// The runner cancels a job with SIGINT, then SIGTERM: stop waiting, leave a clear state, unlock.
const cancel = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => cancel.abort());

await runAction(
  'deploy',
  async () => {
    const settings = readDeploySettings(new Inputs());
    const outcome = await deploy(settings, { signal: cancel.signal });
    core.setOutput('status', outcome.status);
    core.setOutput('revision', outcome.revision === undefined ? '' : String(outcome.revision));
    core.setOutput('objects', JSON.stringify([...outcome.applied.map((a) => ({ ...a.ref, outcome: a.outcome })), ...(outcome.pruned?.deleted ?? []).map((ref) => ({ ...ref, outcome: 'pruned' }))]));
    core.setOutput('images', outcome.images.join('\n'));
    core.setOutput('diff', outcome.diff);
    await writeSummary(deploySummary(outcome, settings.release));
    if (outcome.status === 'failed' || outcome.status === 'rolled-back')
      core.setFailed(`deploy: ${outcome.failure ?? 'failed'}${outcome.status === 'rolled-back' ? ` — rolled back to revision ${outcome.revision}` : ''}`);
  },
  () => deployPost({ context: new Inputs().string('context') }),
);
