import {
  checkReleaseName,
  decodeBundle,
  decodeRelease,
  encodeRelease,
  imagesOf,
  leaseExpired,
  microTime,
  pruneBlocker,
  pruneCandidates,
  type ReleaseRecord,
} from '@kubeline/kube';
import { gunzipSync } from 'node:zlib';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { template: { spec: { initContainers: [{ name: 'init', image: 'busybox@sha256:1' }], containers: [{ name: 'app', image: 'ghcr.io/o/web@sha256:2' }] } } },
};
const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ port: 80 }] } };

describe('release record', () => {
  test('a Secret with labels, the metadata and the gzip-compressed bundle; read back the same', () => {
    const secret = encodeRelease('web', 'shop', 3, {
      objects: [deployment, service],
      commit: 'abc123',
      runUrl: 'https://github.com/o/r/actions/runs/1',
      time: new Date('2026-01-02T03:04:05Z'),
    });
    expect(secret).toMatchObject({
      type: 'kubeline.dev/release',
      metadata: {
        name: 'kubeline.release.web.v3',
        namespace: 'shop',
        labels: { 'kubeline.dev/release': 'web', 'kubeline.dev/revision': '3', 'kubeline.dev/status': 'pending', 'app.kubernetes.io/managed-by': 'kubeline' },
      },
    });
    const data = secret.data as Record<string, string>;
    // The bundle is a plain gzip of a v1 List: `base64 -d | gunzip | kubectl apply -f -` works by hand.
    expect(JSON.parse(gunzipSync(Buffer.from(data['bundle.json.gz'], 'base64')).toString())).toEqual({ apiVersion: 'v1', kind: 'List', items: [deployment, service] });
    expect(decodeBundle(secret)).toEqual([deployment, service]);
    expect(decodeRelease(secret)).toEqual<ReleaseRecord>({
      release: 'web',
      namespace: 'shop',
      revision: 3,
      status: 'pending',
      time: '2026-01-02T03:04:05.000Z',
      updated: '2026-01-02T03:04:05.000Z',
      objects: [
        { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
        { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web' },
      ],
      images: ['busybox@sha256:1', 'ghcr.io/o/web@sha256:2'],
      commit: 'abc123',
      runUrl: 'https://github.com/o/r/actions/runs/1',
      note: undefined,
      secretName: 'kubeline.release.web.v3',
    });
  });

  test('a damaged record reads as none', () => {
    expect(decodeRelease({ metadata: { labels: { 'kubeline.dev/status': 'deployed' } }, data: { 'release.json': 'bm90IGpzb24=' } })).toBeUndefined();
  });

  test('a bundle too big for a Secret is refused', () => {
    const big = Array.from({ length: 400 }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}` }, data: { x: require_random(4000) } }));
    expect(() => encodeRelease('web', 'shop', 1, { objects: big })).toThrow(/a Secret holds at most 1 MiB/);
  });

  test('images of every pod spec', () => {
    expect(imagesOf([deployment, service, { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'cron:1' }] } } } } } }])).toEqual([
      'busybox@sha256:1',
      'cron:1',
      'ghcr.io/o/web@sha256:2',
    ]);
  });

  test.each(['web', 'a', 'my-app-2'])('release name %s is valid', (name) => expect(checkReleaseName(name)).toBe(name));
  test.each(['Web', '-a', 'a-', 'a_b', 'a.b', 'x'.repeat(54), ''])('release name %p is refused', (name) => {
    expect(() => checkReleaseName(name)).toThrow(/^input 'release': .* is not a valid release name/);
  });
});

let x = 7;
function require_random(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(33 + ((x = (x * 48271) % 2147483647) % 90));
  return s;
}

describe('prune', () => {
  const ref = (kind: string, name: string) => ({ apiVersion: 'v1', kind, namespace: 'shop', name });
  const record = (revision: number, status: ReleaseRecord['status'], objects: ReturnType<typeof ref>[]): ReleaseRecord => ({
    release: 'web',
    namespace: 'shop',
    revision,
    status,
    time: '',
    objects,
    images: [],
    secretName: `kubeline.release.web.v${revision}`,
  });

  test('candidates: the latest deployed revision and everything after it, minus the new bundle', () => {
    const records = [
      record(1, 'superseded', [ref('ConfigMap', 'ancient')]),
      record(2, 'deployed', [ref('ConfigMap', 'a'), ref('Service', 's')]),
      record(3, 'rolled-back', [ref('ConfigMap', 'a'), ref('ConfigMap', 'tried')]),
      record(4, 'pending', [ref('ConfigMap', 'a')]),
    ];
    expect(pruneCandidates(records, [ref('ConfigMap', 'a')])).toEqual([ref('ConfigMap', 'tried'), ref('Service', 's')].sort((x, y) => (x.kind === 'ConfigMap' ? -1 : 1) - (y.kind === 'ConfigMap' ? -1 : 1)));
    expect(pruneCandidates([], [ref('ConfigMap', 'a')])).toEqual([]);
  });

  test.each([
    { name: 'ours alone', annotation: 'web', managers: [['kubeline', 'Apply'], ['kube-controller-manager', 'Update']], blocker: undefined },
    { name: 'another release', annotation: 'api', managers: [['kubeline', 'Apply']], blocker: 'it now belongs to release "api"' },
    { name: 'annotation removed', annotation: undefined, managers: [['kubeline', 'Apply']], blocker: 'it no longer carries the kubeline.dev/release annotation' },
    { name: 'never applied by kubeline', annotation: 'web', managers: [['kubectl', 'Update']], blocker: 'kubeline does not manage it (no apply by field manager kubeline)' },
    { name: 'co-applied', annotation: 'web', managers: [['kubeline', 'Apply'], ['argocd-controller', 'Apply']], blocker: 'it is also applied by "argocd-controller"' },
  ])('$name', ({ annotation, managers, blocker }) => {
    const live = {
      metadata: {
        annotations: annotation ? { 'kubeline.dev/release': annotation } : {},
        managedFields: managers.map(([manager, operation]) => ({ manager, operation })),
      },
    };
    expect(pruneBlocker(live, 'web')).toBe(blocker);
  });
});

describe('lease timing', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  test.each([
    { name: 'renewed just now', spec: { holderIdentity: 'a', leaseDurationSeconds: 60, renewTime: '2026-01-01T00:09:59.000000Z' }, expired: false },
    { name: 'renewed 64 s ago (within the grace)', spec: { holderIdentity: 'a', leaseDurationSeconds: 60, renewTime: '2026-01-01T00:08:56.000000Z' }, expired: false },
    { name: 'renewed 5 min ago', spec: { holderIdentity: 'a', leaseDurationSeconds: 60, renewTime: '2026-01-01T00:05:00.000000Z' }, expired: true },
    { name: 'released (no holder)', spec: { holderIdentity: '', renewTime: '2026-01-01T00:09:59.000000Z' }, expired: true },
    { name: 'no times at all', spec: { holderIdentity: 'a' }, expired: true },
  ])('$name → expired $expired', ({ spec, expired }) => {
    expect(leaseExpired(spec, now)).toBe(expired);
  });

  test('MicroTime has six fractional digits', () => {
    expect(microTime(new Date('2026-01-01T00:00:00.123Z'))).toBe('2026-01-01T00:00:00.123000Z');
  });
});
