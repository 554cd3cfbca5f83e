import * as core from '@actions/core';
import { connect, DEPLOY_RENAMED, deploy, deployFailure, deployPost, deploySummary, KubeClient, readDeploySettings } from '@kubeline/kube';
import { Inputs, runAction, StepFailure, writeSummary } from '@kubeline/toolkit';

// The runner cancels a job with SIGINT, then SIGTERM: stop waiting, leave a clear state, unlock.
const cancel = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => cancel.abort());

await runAction(
  'deploy',
  async () => {
    const settings = readDeploySettings(new Inputs());
    const connection = await connect({ kubeconfig: settings.kubeconfig, context: settings.context });
    // Namespaced objects without a namespace go to the `namespace` input, else the context's, else default.
    const client = new KubeClient(connection.kubeConfig, { user: connection.user, defaultNamespace: settings.namespace });
    const outcome = await deploy(settings, { client, connection }, { signal: cancel.signal });
    core.setOutput('status', outcome.status);
    core.setOutput('revision', outcome.revision === undefined ? '' : String(outcome.revision));
    core.setOutput('objects', JSON.stringify([...outcome.applied.map((a) => ({ ...a.ref, outcome: a.outcome })), ...(outcome.pruned?.deleted ?? []).map((ref) => ({ ...ref, outcome: 'pruned' }))]));
    core.setOutput('images', outcome.images.join('\n'));
    core.setOutput('diff', outcome.diff);
    await writeSummary(deploySummary(outcome, settings.release));
    const failure = deployFailure(outcome);
    if (failure) throw new StepFailure(failure);
  },
  () => deployPost({ context: new Inputs().withRenamed(DEPLOY_RENAMED).string('kube-context') }),
);
