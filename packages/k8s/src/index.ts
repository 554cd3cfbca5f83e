/** @kubeline/k8s: the Kubernetes object model shared by render, deploy and promote. */
export * from './object';
export * from './install-order';
export * from './yaml-read';
export * from './yaml-write';
export * from './pod-specs';
export * from './image-ref';
