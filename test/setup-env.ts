// Tests must not write workflow commands to the real job: point the
// runner files at nothing unless a test sets its own.
delete process.env.GITHUB_OUTPUT;
delete process.env.GITHUB_STEP_SUMMARY;
delete process.env.GITHUB_STATE;
delete process.env.GITHUB_ENV;

// Workflow commands (::warning:: …) are for the runner, not the test log.
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
  typeof chunk === 'string' && chunk.startsWith('::') ? true : (write as (...a: unknown[]) => boolean)(chunk, ...rest)) as typeof process.stdout.write;
