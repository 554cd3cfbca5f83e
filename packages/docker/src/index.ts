/** @kubeline/docker: the Docker CLI, Dockerfiles, builds, the registry client, login, tag rules and push. */
export * from './docker';
export * from './dockerfile';
export * from './build';
export * from './registry';
export * from './image-reference';
export * from './login';
export * from './push';
export * from './tags';
export * from './test-image';
export * from './inputs';
export * from './registry-copy';
