/** @kubeline/runner: run an action bundle locally as the GitHub runner does. */
export * from './runner';
