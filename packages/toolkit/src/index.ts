/** @kubeline/toolkit: inputs, errors, retries, the exec wrapper and the reporter every action shares. */
export * from './errors';
export * from './inputs';
export * from './retry';
export * from './exec';
export * from './report';
export * from './action';
export * from './context';
export * from './transient';
export * from './duration';
