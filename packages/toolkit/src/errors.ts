/** The three ways an action fails: the user's mistake, an outside failure, and a verdict on the work. */
/**
 * A mistake the user can fix: a bad input, a missing file. Its message names
 * the input and says what to do; it is reported without a stack trace.
 */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  constructor(
    message: string,
    /** The action input the mistake is in, when there is one. */
    readonly input?: string,
  ) {
    super(input ? `input '${input}': ${message}` : message);
  }
}

/** An outside program or service failed; `detail` keeps what it said last. */
export class ExternalError extends Error {
  override readonly name = 'ExternalError';
  constructor(
    message: string,
    readonly detail = '',
  ) {
    super(detail ? `${message}\n${detail}` : message);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The step did its work and the verdict is failure (tests failed, a deploy rolled back, findings
 * over the threshold): outputs are already set, and the message is what the step's log ends with.
 */
export class StepFailure extends Error {
  override readonly name = 'StepFailure';
}
