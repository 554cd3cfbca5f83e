/** @kubeline/gitops: promote's gitops mode, the proven digest written into an environment repository. */
export * from './promote';
export * from './edits';
export { type Identity, isRetryableGitError, PushRace, TransientGitError } from './git';
export * from './pull-request';
export { githubRepositoryOf, parseRepository, type Remote } from './repository';
