import { DEPLOY_RENAMED, readDeploySettings } from '@kubeline/kube';
import { Inputs, runAction } from '@kubeline/toolkit';

// The runner cancels a job with SIGINT, then SIGTERM: stop waiting, leave a clear state, unlock.
const cancel = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => cancel.abort());

// The inputs are read first; the Kubernetes half (client-node, undici: most of the bundle) is
// loaded after them, so a start, and a mistake in the inputs, costs none of it.
await runAction(
  'deploy',
  async () => {
    const settings = readDeploySettings(new Inputs());
    await (await import('./step')).deployStep(settings, cancel.signal);
  },
  async () => (await import('./step')).deployPost({ context: new Inputs().withRenamed(DEPLOY_RENAMED).string('kube-context') }),
);
