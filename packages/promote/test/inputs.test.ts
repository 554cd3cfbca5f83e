import { objectInputs } from '@kubeline/toolkit';
import { readPromoteSettings } from '../src/inputs';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const read = (values: Record<string, string>) => readPromoteSettings(objectInputs({ 'from-namespace': 'demo-staging', ...values }), { GITHUB_WORKSPACE: process.cwd() });
const refusal = (values: Record<string, string>): string => {
  try {
    read(values);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('promote inputs', () => {
  test('registry mode: the proof source, soak and targets', () => {
    const s = read({ mode: 'registry', 'from-release': 'demo', soak: '10m', 'to-images': 'prod.example/app:production\nprod.example/app:1.4.2' });
    expect(s.from).toEqual({ namespace: 'demo-staging', release: 'demo', kubeconfig: '', context: '' });
    expect(s.soakMs).toBe(600_000);
    expect(s.toImages.map((t) => t.target)).toEqual(['prod.example/app:production', 'prod.example/app:1.4.2']);
  });

  test('soak 0 means no soak', () => {
    expect(read({ mode: 'registry', release: 'demo', soak: '0', 'to-images': 'r.example/a:b' }).soakMs).toBe(0);
  });

  test('gitops mode picks what to change from the file name', () => {
    const base = { mode: 'gitops', release: 'demo', repository: '/srv/env' };
    expect(read({ ...base, 'repository-file': 'apps/demo/kustomization.yaml' }).gitops?.change).toBe('kustomize-image');
    expect(read({ ...base, 'repository-file': 'charts/demo/values-production.yaml' }).gitops?.change).toBe('helm-value');
    expect(read({ ...base, 'repository-file': 'apps/demo/deployment.yaml' }).gitops?.change).toBe('container-image');
  });

  test.each([
    [{ mode: 'registry', release: 'demo' }, "input 'to-images': is required with mode: registry"],
    [{ mode: 'registry', release: 'demo', 'to-images': 'x', images: 'demo=r.example/a:1' }, "input 'images': \"demo=r.example/a:1\" has no digest"],
    [{ mode: 'deploy' }, "input 'from-release': is required"],
    [{ mode: 'deploy', release: 'demo' }, "input 'path': is required with mode: deploy, or give manifests"],
    [{ mode: 'bogus', release: 'demo' }, "input 'mode': 'bogus' is not valid. Use one of: deploy, registry, gitops."],
    [{ mode: 'registry', release: 'demo', 'to-images': 'r.example/a:b', soak: 'soon' }, "input 'soak': 'soon' is not a duration"],
  ])('%j is refused', (values, message) => {
    expect(refusal(values)).toContain(message);
  });

  test('images with digests are kept with their names', () => {
    expect(read({ mode: 'registry', release: 'demo', 'to-images': 'r.example/a:b', images: `demo=r.example/app@${DIGEST}` }).images).toEqual([{ name: 'demo', reference: `r.example/app@${DIGEST}` }]);
  });
});
