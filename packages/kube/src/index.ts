export * from './rollout';
export * from './duration';
