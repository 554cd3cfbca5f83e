export * from './proof';
export * from './inputs';
export * from './promote';
export * from './production-bundle';
export * from './summary';
