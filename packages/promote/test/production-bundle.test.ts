import { StepFailure } from '@kubeline/toolkit';
import { checkAllProven, overridesFor } from '../src/production-bundle';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const deployment = (name: string, containers: Array<[string, string]>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: { template: { spec: { containers: containers.map(([n, image]) => ({ name: n, image })) } } },
});

describe('which proven image each production container gets', () => {
  const web = `registry.example/acme/web@${digest('a')}`;
  const worker = `registry.example/acme/worker@${digest('b')}`;

  test('the image the same container runs in staging', () => {
    const staging = [deployment('shop', [['app', web], ['jobs', worker]])];
    const production = [deployment('shop', [['app', 'placeholder-1'], ['jobs', 'placeholder-2']])];
    expect(overridesFor(production, staging, [web, worker])).toEqual([
      { name: 'placeholder-1', reference: web },
      { name: 'placeholder-2', reference: worker },
    ]);
  });

  test('else the proven image of the same repository, or the same last path segment', () => {
    const production = [deployment('web', [['app', 'registry.example/acme/web:latest']]), deployment('worker', [['app', 'worker']])];
    expect(overridesFor(production, [], [web, worker])).toEqual([
      { name: 'registry.example/acme/web', reference: web },
      { name: 'worker', reference: worker },
    ]);
  });

  test('a container matching nothing keeps its image (the check after rendering refuses it)', () => {
    expect(overridesFor([deployment('db', [['db', 'postgres:16']])], [], [web])).toEqual([]);
  });
});

describe('every image of the production bundle is proven', () => {
  const proven = [`registry.example/acme/web@${digest('a')}`];

  test('the same digest passes, also under another repository (after a retag)', () => {
    expect(() => checkAllProven([deployment('web', [['app', `prod.example/web@${digest('a')}`]])], proven, 'bundle.yaml')).not.toThrow();
  });

  test('any other image is refused, by object and container', () => {
    const bundle = [deployment('web', [['app', `registry.example/acme/web@${digest('c')}`], ['sidecar', 'envoy:1.30']])];
    let error: unknown;
    try {
      checkAllProven(bundle, proven, 'bundle.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StepFailure);
    expect((error as Error).message).toContain('Deployment web container app');
    expect((error as Error).message).toContain('container sidecar: envoy:1.30');
  });
});
