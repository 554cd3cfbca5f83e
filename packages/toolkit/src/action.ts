/** `runAction`: the one last catch of every action, and the switch between its main and post steps. */
import * as core from '@actions/core';
import { ConfigurationError, ExternalError, StepFailure } from './errors';

const POST_MARKER = 'isPost';

/**
 * The one last catch of every action: a user's mistake or an outside failure
 * becomes `<action>: <message>` without a stack trace; a bug keeps its stack
 * in the debug log. One bundle serves as both main and post step: the main
 * step leaves a marker in GITHUB_STATE that the post step reads back.
 */
export async function runAction(action: string, main: () => Promise<void>, post?: () => Promise<void>): Promise<void> {
  const isPost = core.getState(POST_MARKER) === 'true';
  if (!isPost && post) core.saveState(POST_MARKER, 'true');
  try {
    await (isPost ? (post ?? (async () => {}))() : main());
  } catch (err) {
    if (err instanceof ConfigurationError || err instanceof ExternalError || err instanceof StepFailure) {
      core.setFailed(`${action}: ${err.message}`);
    } else if (err instanceof Error) {
      core.debug(err.stack ?? '');
      core.setFailed(`${action}: ${err.message}`);
    } else {
      core.setFailed(`${action}: ${String(err)}`);
    }
  }
}
