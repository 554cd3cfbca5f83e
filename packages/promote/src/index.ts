/** @kubeline/promote: prove staging's images and move those exact digests to production. */
export * from './proof';
export * from './inputs';
export * from './promote';
export * from './production-bundle';
export * from './summary';
