/** @kubeline/manifests: render and validate Kubernetes manifests (render-and-validate-manifests). */
export * from './types';
export * from './images';
export * from './render';
export * from './tools';
export * from './schemas';
export * from './validate';
export * from './pipeline';
export * from './inputs';
export * from './render-and-validate-manifests';
export * from './findings';
export * from './sarif';
export * from './junit-report';
export { checkPolicies, DEFAULT_POLICY, parsePolicyConfig } from './policies';
export { runParseWorkerIfAny } from './parallel';
