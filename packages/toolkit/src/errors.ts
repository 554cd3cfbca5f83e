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
