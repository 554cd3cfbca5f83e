import { apiErrorMessage, isTransient, KubeApiError, parseApplyConflicts, parseForbidden, rbacRuleSnippet, UnreachableError } from '@kubeline/kube';

describe('403: verb, resource, namespace, user and the rule that allows it', () => {
  const server = 'deployments.apps "web" is forbidden: User "system:serviceaccount:ci:deployer" cannot patch resource "deployments" in API group "apps" in the namespace "shop"';

  test('parses what the RBAC authorizer says', () => {
    expect(parseForbidden(server)).toEqual({ user: 'system:serviceaccount:ci:deployer', verb: 'patch', resource: 'deployments', subresource: undefined, group: 'apps', namespace: 'shop' });
    expect(parseForbidden('namespaces is forbidden: User "bob" cannot list resource "namespaces" in API group "" at the cluster scope')).toMatchObject({
      user: 'bob',
      verb: 'list',
      resource: 'namespaces',
      group: '',
      namespace: undefined,
    });
  });

  test('the message names all of it and prints a Role', () => {
    const m = apiErrorMessage(403, { kind: 'Status', message: server, reason: 'Forbidden' }, { verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web', kind: 'Deployment' }, 'deployer');
    expect(m).toContain('forbidden: system:serviceaccount:ci:deployer cannot patch deployments.apps in namespace "shop" (Deployment shop/web)');
    expect(m).toContain('kind: Role\nmetadata:\n  name: kubeline-deploy\n  namespace: shop\nrules:\n  - apiGroups: ["apps"]\n    resources: ["deployments"]\n    verbs: ["patch"]');
  });

  test('cluster-scoped resources get a ClusterRole; subresources are spelled out', () => {
    expect(rbacRuleSnippet({ verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' })).toContain('kind: ClusterRole');
    expect(rbacRuleSnippet({ verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'a' })).toContain('resources: ["pods/log"]');
  });
});

describe('409 from server-side apply: the other managers and their fields', () => {
  const status = {
    kind: 'Status',
    message: 'Apply failed with 2 conflicts: conflict with "other" using apps/v1: .spec.replicas\nconflict with "helm": .spec.template.spec.containers[name="app"].image',
    reason: 'Conflict',
    details: {
      causes: [
        { reason: 'FieldManagerConflict', message: 'conflict with "other" using apps/v1', field: '.spec.replicas' },
        { reason: 'FieldManagerConflict', message: 'conflict with "helm"', field: '.spec.template.spec.containers[name="app"].image' },
        { reason: 'FieldManagerConflict', message: 'conflict with "other" using apps/v1', field: '.metadata.labels.tier' },
      ],
    },
  };

  test('parses the causes', () => {
    expect([...parseApplyConflicts(status)]).toEqual([
      ['other', ['.spec.replicas', '.metadata.labels.tier']],
      ['helm', ['.spec.template.spec.containers[name="app"].image']],
    ]);
  });

  test('falls back to the message when there are no causes', () => {
    expect([...parseApplyConflicts({ message: 'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.x' })]).toEqual([['kubectl-edit', ['.data.x']]]);
  });

  test('the message says how to get out', () => {
    const m = apiErrorMessage(409, status, { verb: 'patch', kind: 'Deployment', name: 'web', namespace: 'shop' }, undefined);
    expect(m).toContain('Deployment shop/web: server-side apply conflict');
    expect(m).toContain('"other" owns .spec.replicas, .metadata.labels.tier');
    expect(m).toContain('force-conflicts: true');
  });
});

test('422 names the object and lists the causes', () => {
  const m = apiErrorMessage(
    422,
    {
      kind: 'Status',
      reason: 'Invalid',
      message: 'Deployment.apps "bad" is invalid: spec.template.metadata.labels: Invalid value: {"app":"b"}: `selector` does not match template `labels`',
      details: { name: 'bad', kind: 'Deployment', causes: [{ reason: 'FieldValueInvalid', field: 'spec.template.metadata.labels', message: 'Invalid value: {"app":"b"}: `selector` does not match template `labels`' }] },
    },
    { verb: 'patch', kind: 'Deployment', name: 'bad', namespace: 'shop' },
    undefined,
  );
  expect(m).toMatch(/^Deployment shop\/bad is invalid:\n {2}- spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/);
});

test('an unknown field under apply (a 500 the server gives no reason for) reads as invalid', () => {
  expect(apiErrorMessage(500, { kind: 'Status', message: 'failed to create typed patch object (/a; /v1, Kind=ConfigMap): .bogus: field not declared in schema' }, { verb: 'patch', kind: 'ConfigMap', name: 'a' }, undefined)).toBe(
    'ConfigMap a is invalid: failed to create typed patch object (/a; /v1, Kind=ConfigMap): .bogus: field not declared in schema',
  );
});

describe('isTransient', () => {
  const err = (status: number, apiStatus: object = {}) => new KubeApiError('x', status, '', apiStatus);
  test.each([
    { name: '429', error: err(429, { kind: 'Status' }), transient: true },
    { name: '503', error: err(503), transient: true },
    { name: '502 from a load balancer', error: err(502), transient: true },
    { name: '504', error: err(504, { kind: 'Status', reason: 'Timeout' }), transient: true },
    { name: '500 InternalError', error: err(500, { kind: 'Status', reason: 'InternalError' }), transient: true },
    { name: '500 from a proxy (no Status)', error: err(500), transient: true },
    { name: '500 typed patch (no reason)', error: err(500, { kind: 'Status', message: 'failed to create typed patch object' }), transient: false },
    { name: '403', error: err(403, { kind: 'Status' }), transient: false },
    { name: '409', error: err(409, { kind: 'Status' }), transient: false },
    { name: '422', error: err(422, { kind: 'Status' }), transient: false },
    { name: 'connection refused', error: new UnreachableError('connect ECONNREFUSED'), transient: true },
    { name: 'a bug', error: new TypeError('x is undefined'), transient: false },
  ])('$name → $transient', ({ error, transient }) => {
    expect(isTransient(error)).toBe(transient);
  });
});
