export * from './junit';
export * from './run';
