export * from './rollout';
export * from './duration';
export * from './wait';
export * from './diagnose';
