/** @kubeline/kube: the Kubernetes side of deploy. */
export * from './rollout';
export * from './connection';
export * from './api-errors';
export * from './discovery';
export * from './client';
export * from './ownership';
export * from './read-bundle';
export * from './diff';
export * from './apply';
export * from './release';
export * from './lock';
export * from './diagnose';
export * from './wait';
export * from './wait-report';
export * from './rollback';
export * from './deploy';
export * from './inputs';
