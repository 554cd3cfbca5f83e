export * from './errors';
export * from './inputs';
export * from './retry';
export * from './exec';
export * from './report';
export * from './action';
export * from './context';
