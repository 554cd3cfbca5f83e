// deploy's work once its inputs are read: loaded by main.ts with import(), in a chunk of its own.
import { connect, deploy, deployFailure, deploySummary, type DeploySettings, KubeClient } from '@kubeline/kube';
import { setOutput, StepFailure, writeSummary } from '@kubeline/toolkit';

export { deployPost } from '@kubeline/kube';

/** Connects, deploys and sets the step's outputs and summary; a failed deploy fails the step. */
export async function deployStep(settings: DeploySettings, signal: AbortSignal): Promise<void> {
  const connection = await connect({ kubeconfig: settings.kubeconfig, context: settings.context });
  // Namespaced objects without a namespace go to the `namespace` input, else the context's, else default.
  const client = new KubeClient(connection.kubeConfig, { user: connection.user, defaultNamespace: settings.namespace });
  const outcome = await deploy(settings, { client, connection }, { signal });
  setOutput('status', outcome.status);
  setOutput('revision', outcome.revision === undefined ? '' : String(outcome.revision));
  setOutput('objects', JSON.stringify([...outcome.applied.map((a) => ({ ...a.ref, outcome: a.outcome })), ...(outcome.pruned?.deleted ?? []).map((ref) => ({ ...ref, outcome: outcome.status === 'deleted' ? 'deleted' : 'pruned' }))]));
  setOutput('images', outcome.images.join('\n'));
  setOutput('diff', outcome.diff);
  await writeSummary(deploySummary(outcome, settings.release));
  const failure = deployFailure(outcome);
  if (failure) throw new StepFailure(failure);
}
