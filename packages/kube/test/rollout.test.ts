import {
  type RolloutObject,
  type RolloutState,
  conditionRollout,
  crdRollout,
  daemonSetRollout,
  deploymentRollout,
  hasRollout,
  jobRollout,
  podRollout,
  pvcRollout,
  rolloutStatus,
  statefulSetRollout,
} from '@kubeline/kube';

// Statuses copied from the test bed's control plane (kube-apiserver and kube-controller-manager
// v1.37.1 with scripts/fake-kubelet.mjs), trimmed to the fields the rules read. Cases marked
// "made" are built by hand for states too short-lived to catch.

type Case = [string, RolloutObject, RolloutState, RegExp | string];

const deploy = (generation: number, spec: object, status: object): RolloutObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', generation },
  spec: { replicas: 2, progressDeadlineSeconds: 600, ...spec },
  status,
});

const available = (at: string) => ({
  type: 'Available',
  status: 'True',
  reason: 'MinimumReplicasAvailable',
  message: 'Deployment has minimum availability.',
  lastTransitionTime: at,
  lastUpdateTime: at,
});
const progressing = (reason: string, status: string, at: string, message = '') => ({ type: 'Progressing', status, reason, message, lastTransitionTime: at, lastUpdateTime: at });
const deadline = (at: string) => progressing('ProgressDeadlineExceeded', 'False', at, 'ReplicaSet "web-5f77d5ff68" has timed out progressing.');

describe('Deployments follow kubectl rollout status', () => {
  const rolloutStart = Date.parse('2026-11-22T01:53:49Z');
  const cases: Case[] = [
    [
      'rolled out: 2 updated, 2 available, no old replicas',
      deploy(1, {}, {
        availableReplicas: 2,
        conditions: [available('2026-11-22T01:51:45Z'), progressing('NewReplicaSetAvailable', 'True', '2026-11-22T01:51:45Z', 'ReplicaSet "good-55bdf65c5" has successfully progressed.')],
        observedGeneration: 1,
        readyReplicas: 2,
        replicas: 2,
        terminatingReplicas: 0,
        updatedReplicas: 2,
      }),
      'ready',
      '2 replicas updated and available',
    ],
    [
      'spec change not observed yet (generation 2, observed 1)',
      deploy(2, {}, { availableReplicas: 2, observedGeneration: 1, readyReplicas: 2, replicas: 2, updatedReplicas: 2 }),
      'progressing',
      'waiting for the controller to observe generation 2 (observed 1)',
    ],
    ['just created: no status at all', deploy(1, {}, {}), 'progressing', 'waiting for the controller to observe generation 1 (observed 0)'],
    [
      'new ReplicaSet created, 1 of 2 updated',
      deploy(2, {}, {
        availableReplicas: 2,
        conditions: [available('2026-11-22T01:51:45Z'), progressing('NewReplicaSetCreated', 'True', '2026-11-22T01:52:37Z')],
        observedGeneration: 2,
        readyReplicas: 2,
        replicas: 3,
        unavailableReplicas: 1,
        updatedReplicas: 1,
      }),
      'progressing',
      '1 of 2 new replicas updated',
    ],
    [
      'all updated, an old replica pending termination',
      deploy(2, {}, {
        availableReplicas: 2,
        conditions: [available('2026-11-22T01:51:45Z'), progressing('ReplicaSetUpdated', 'True', '2026-11-22T01:52:40Z')],
        observedGeneration: 2,
        readyReplicas: 2,
        replicas: 3,
        unavailableReplicas: 1,
        updatedReplicas: 2,
      }),
      'progressing',
      '1 old replica pending termination',
    ],
    [
      'made: all updated, 1 of 3 available',
      deploy(3, { replicas: 3 }, { availableReplicas: 1, observedGeneration: 3, readyReplicas: 1, replicas: 3, updatedReplicas: 3 }),
      'progressing',
      '1 of 3 updated replicas available',
    ],
    [
      'never ready: past its progress deadline',
      deploy(1, { replicas: 1, progressDeadlineSeconds: 10 }, {
        conditions: [
          { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.', lastUpdateTime: '2026-11-22T01:51:45Z' },
          progressing('ProgressDeadlineExceeded', 'False', '2026-11-22T01:51:56Z', 'ReplicaSet "stuck-c88fb546" has timed out progressing.'),
        ],
        observedGeneration: 1,
        replicas: 1,
        unavailableReplicas: 1,
        updatedReplicas: 1,
      }),
      'failed',
      'ProgressDeadlineExceeded: ReplicaSet "stuck-c88fb546" has timed out progressing.',
    ],
    [
      'crash looping pods but within the deadline: kubectl keeps waiting',
      deploy(1, { replicas: 1 }, {
        conditions: [progressing('ReplicaSetUpdated', 'True', '2026-11-22T01:51:45Z', 'ReplicaSet "crash-86d69d7bbd" is progressing.')],
        observedGeneration: 1,
        replicas: 1,
        unavailableReplicas: 1,
        updatedReplicas: 1,
      }),
      'progressing',
      '0 of 1 updated replicas available',
    ],
    [
      'paused: not waited for',
      deploy(2, { paused: true }, { observedGeneration: 2, replicas: 2, updatedReplicas: 0, availableReplicas: 2 }),
      'ready',
      /^paused/,
    ],
    ['scaled to zero', deploy(4, { replicas: 0 }, { observedGeneration: 4 }), 'ready', '0 replicas updated and available'],
  ];
  test.each(cases)('%s', (_name, obj, state, reason) => {
    const got = deploymentRollout(obj, { startedAt: Date.parse('2026-11-22T01:51:40Z') });
    expect(got.state).toBe(state);
    if (typeof reason === 'string') expect(got.reason).toBe(reason);
    else expect(got.reason).toMatch(reason);
  });

  // Caught by a watch during a rollback to the previous ReplicaSet (slow-2s:1 → never-ready:2 past
  // its 10 s deadline → slow-2s:1 again at 01:53:49): the controller has observed generation 3 but
  // still carries generation 2's ProgressDeadlineExceeded. kubectl rollout status fails here.
  const staleWindow = deploy(3, { replicas: 1, progressDeadlineSeconds: 10 }, {
    availableReplicas: 1,
    conditions: [available('2026-11-22T01:53:32Z'), deadline('2026-11-22T01:53:45Z')],
    observedGeneration: 3,
    readyReplicas: 1,
    replicas: 2,
    terminatingReplicas: 0,
    updatedReplicas: 1,
  });

  test('a ProgressDeadlineExceeded from before this rollout started is stale: keep waiting', () => {
    expect(deploymentRollout(staleWindow, { startedAt: rolloutStart })).toEqual({
      state: 'progressing',
      reason: '1 old replica pending termination (the ProgressDeadlineExceeded condition of 2026-11-22T01:53:45Z is from an earlier rollout)',
    });
  });

  test('the same condition updated during this rollout fails it; without a start time it fails as in kubectl', () => {
    expect(deploymentRollout(staleWindow, { startedAt: Date.parse('2026-11-22T01:53:40Z') }).state).toBe('failed');
    expect(deploymentRollout(staleWindow).state).toBe('failed');
    // Conditions carry whole seconds: one from the second the rollout started in is stale (a
    // rollback is applied within the second the failure was seen); from the next second on it counts.
    expect(deploymentRollout(staleWindow, { startedAt: Date.parse('2026-11-22T01:53:45.100Z') }).state).toBe('progressing');
    expect(deploymentRollout(staleWindow, { startedAt: Date.parse('2026-11-22T01:53:44.900Z') }).state).toBe('failed');
  });

  test('a stale condition never hides a complete rollout', () => {
    const done = deploy(3, { replicas: 1 }, { ...staleWindow.status, replicas: 1 });
    expect(deploymentRollout(done, { startedAt: rolloutStart })).toEqual({ state: 'ready', reason: '1 replica updated and available' });
  });
});

describe('StatefulSets follow kubectl rollout status', () => {
  const sts = (generation: number, spec: object, status: object): RolloutObject => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', generation },
    spec: { replicas: 2, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, partition: 0 } }, ...spec },
    status,
  });
  const rolledOut = {
    availableReplicas: 2,
    collisionCount: 0,
    currentReplicas: 2,
    currentRevision: 'db-855b7b8bdb',
    observedGeneration: 1,
    readyReplicas: 2,
    replicas: 2,
    updateRevision: 'db-855b7b8bdb',
    updatedReplicas: 2,
  };
  const cases: Case[] = [
    ['rolled out', sts(1, {}, rolledOut), 'ready', '2 pods updated and ready'],
    ['observedGeneration 0: not observed', sts(1, {}, { replicas: 0 }), 'progressing', /observe generation 1/],
    ['made: 1 of 2 pods ready', sts(1, {}, { ...rolledOut, readyReplicas: 1 }), 'progressing', '1 of 2 pods ready'],
    [
      'made: partition 1 of 3 replicas, 1 of 2 updated',
      sts(2, { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } }, { ...rolledOut, observedGeneration: 2, replicas: 3, readyReplicas: 3, updatedReplicas: 1 }),
      'progressing',
      'partitioned rollout: 1 of 2 new pods updated',
    ],
    [
      'made: partition 1 of 3 replicas, 2 updated',
      sts(2, { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } }, { ...rolledOut, observedGeneration: 2, replicas: 3, readyReplicas: 3, updatedReplicas: 2 }),
      'ready',
      /^partitioned rollout complete: 2 new pods updated \(pods below ordinal 1/,
    ],
    [
      'made: no rollingUpdate block, revisions differ',
      sts(2, { updateStrategy: { type: 'RollingUpdate' } }, { ...rolledOut, observedGeneration: 2, updateRevision: 'db-2', updatedReplicas: 1 }),
      'progressing',
      'rolling update: 1 pod at revision db-2',
    ],
    ['made: no rollingUpdate block, same revision', sts(1, { updateStrategy: { type: 'RollingUpdate' } }, rolledOut), 'ready', '2 pods at revision db-855b7b8bdb'],
    ['OnDelete: not waitable', sts(1, { updateStrategy: { type: 'OnDelete' } }, {}), 'ready', /^updateStrategy OnDelete: .*not waited for$/],
  ];
  test.each(cases)('%s', (_name, obj, state, reason) => {
    const got = statefulSetRollout(obj);
    expect(got.state).toBe(state);
    expect(got.reason).toEqual(typeof reason === 'string' ? reason : expect.stringMatching(reason));
  });
});

describe('DaemonSets follow kubectl rollout status', () => {
  const ds = (generation: number, status: object, strategy = 'RollingUpdate'): RolloutObject => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', generation },
    spec: { updateStrategy: { type: strategy, rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } },
    status,
  });
  const cases: Case[] = [
    [
      'rolled out on the one node',
      ds(2, { currentNumberScheduled: 1, desiredNumberScheduled: 1, numberAvailable: 1, numberMisscheduled: 0, numberReady: 1, observedGeneration: 2, updatedNumberScheduled: 1 }),
      'ready',
      '1 pod updated and available',
    ],
    [
      'no node fits (the test bed node keeps its not-ready NoSchedule taint)',
      ds(1, { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0, observedGeneration: 1 }),
      'ready',
      /^no node should run it/,
    ],
    ['made: spec not observed', ds(3, { desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: 1, observedGeneration: 2 }), 'progressing', /observe generation 3/],
    ['made: 1 of 3 updated', ds(2, { desiredNumberScheduled: 3, updatedNumberScheduled: 1, numberAvailable: 3, observedGeneration: 2 }), 'progressing', '1 of 3 new pods updated'],
    ['made: 2 of 3 available', ds(2, { desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2, observedGeneration: 2 }), 'progressing', '2 of 3 updated pods available'],
    ['OnDelete: not waitable', ds(2, {}, 'OnDelete'), 'ready', /^updateStrategy OnDelete/],
  ];
  test.each(cases)('%s', (_name, obj, state, reason) => {
    const got = daemonSetRollout(obj);
    expect(got.state).toBe(state);
    expect(got.reason).toEqual(typeof reason === 'string' ? reason : expect.stringMatching(reason));
  });
});

describe('Jobs run until Complete', () => {
  const job = (spec: object, status: object): RolloutObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate', generation: 1 },
    spec: { backoffLimit: 0, completions: 1, suspend: false, ...spec },
    status,
  });
  const cond = (type: string, reason: string, message: string) => ({ type, status: 'True', reason, message, lastProbeTime: '2026-11-22T01:51:47Z', lastTransitionTime: '2026-11-22T01:51:47Z' });
  const cases: Case[] = [
    [
      'complete',
      job({}, {
        completionTime: '2026-11-22T01:51:47Z',
        conditions: [cond('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'), cond('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods')],
        ready: 0,
        startTime: '2026-11-22T01:51:45Z',
        succeeded: 1,
        terminating: 0,
      }),
      'ready',
      'complete (1 pod succeeded)',
    ],
    [
      'failed: backoff limit',
      job({}, {
        conditions: [cond('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'), cond('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')],
        failed: 1,
        ready: 0,
        startTime: '2026-11-22T01:51:45Z',
        terminating: 0,
      }),
      'failed',
      'BackoffLimitExceeded: Job has reached the specified backoff limit',
    ],
    [
      'made: FailureTarget before Failed: already bound to fail',
      job({}, { conditions: [cond('FailureTarget', 'DeadlineExceeded', 'Job was active longer than specified deadline')], active: 1 }),
      'failed',
      'DeadlineExceeded: Job was active longer than specified deadline',
    ],
    ['running', job({}, { active: 1, ready: 0, startTime: '2026-11-22T01:51:45Z', terminating: 0 }), 'progressing', '0 of 1 completions, 1 running'],
    ['made: retrying after a failure', job({ backoffLimit: 3 }, { active: 1, failed: 1 }), 'progressing', '0 of 1 completions, 1 running, 1 failed pod (backoffLimit 3)'],
    [
      'suspended: not waited for',
      job({ suspend: true, backoffLimit: 6 }, { conditions: [{ type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' }], ready: 0, terminating: 0 }),
      'ready',
      /^suspended \(spec.suspend: true\)/,
    ],
  ];
  test.each(cases)('%s', (_name, obj, state, reason) => {
    const got = jobRollout(obj);
    expect(got.state).toBe(state);
    expect(got.reason).toEqual(typeof reason === 'string' ? reason : expect.stringMatching(reason));
  });
});

describe('Pods are Ready, or have run to completion', () => {
  const pod = (status: object, restartPolicy = 'Always'): RolloutObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { restartPolicy }, status });
  const notReady = [
    { type: 'Initialized', status: 'True' },
    { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [app]' },
    { type: 'PodScheduled', status: 'True' },
  ];
  const cases: Case[] = [
    [
      'Running and Ready',
      pod({
        conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }, { type: 'ContainersReady', status: 'True' }, { type: 'PodScheduled', status: 'True' }],
        containerStatuses: [{ name: 'app', ready: true, restartCount: 0, started: true, state: { running: { startedAt: '2026-11-22T01:51:46Z' } } }],
        phase: 'Running',
      }),
      'ready',
      'Ready',
    ],
    [
      'never ready: running, readiness failing',
      pod({ conditions: notReady, containerStatuses: [{ name: 'app', ready: false, restartCount: 0, started: true, state: { running: { startedAt: '2026-11-22T01:51:45Z' } } }], phase: 'Running' }),
      'progressing',
      'Running: container app running but not ready',
    ],
    [
      'crash looping',
      pod({
        conditions: notReady,
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 5,
            lastState: { terminated: { exitCode: 1, reason: 'Error' } },
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container=app pod=crash-86d69d7bbd-l8vnf_ns(ec0c1c1b)' } },
          },
        ],
        phase: 'Running',
      }),
      'progressing',
      'container app: CrashLoopBackOff, 5 restarts',
    ],
    [
      'image cannot be pulled',
      pod({
        conditions: notReady,
        containerStatuses: [{ name: 'app', ready: false, restartCount: 0, started: false, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "registry.example/pull-error:1"' } } }],
        phase: 'Pending',
      }),
      'progressing',
      'container app: ImagePullBackOff',
    ],
    [
      'unschedulable',
      pod({
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
          },
        ],
        phase: 'Pending',
      }),
      'progressing',
      /^Pending: not scheduled: 0\/1 nodes are available: 1 node\(s\) didn't match/,
    ],
    ['made: ran to completion', pod({ phase: 'Succeeded', containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }, 'Never'), 'ready', 'Succeeded: ran to completion'],
    [
      'failed (a Job pod that exited 1)',
      pod({ phase: 'Failed', containerStatuses: [{ name: 'job', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error' } } }] }, 'Never'),
      'failed',
      'pod Failed (Error, exit code 1)',
    ],
    ['no status yet', pod({}), 'progressing', 'Pending'],
  ];
  test.each(cases)('%s', (_name, obj, state, reason) => {
    const got = podRollout(obj);
    expect(got.state).toBe(state);
    expect(got.reason).toEqual(typeof reason === 'string' ? reason : expect.stringMatching(reason));
  });
});

describe('PersistentVolumeClaims are Bound', () => {
  const pvc = (status: object, spec: object = {}, annotations: Record<string, string> = {}): RolloutObject => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', annotations },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeMode: 'Filesystem', ...spec },
    status,
  });
  test('Pending with no provisioner says it stays Pending', () => {
    const got = pvcRollout(pvc({ phase: 'Pending' }));
    expect(got.state).toBe('progressing');
    expect(got.reason).toMatch(/^Pending: not bound to a volume — no volume provisioner .*storageClassName: unset.*stays Pending until one does$/);
  });
  test.each<Case>([
    ['made: bound', pvc({ phase: 'Bound' }, { volumeName: 'pv-1' }), 'ready', 'Bound to pv-1'],
    ['made: lost', pvc({ phase: 'Lost' }), 'failed', /^Lost/],
    ['made: provisioning', pvc({ phase: 'Pending' }, { storageClassName: 'fast' }, { 'volume.kubernetes.io/storage-provisioner': 'ebs.csi.aws.com' }), 'progressing', 'Pending: waiting for the volume provisioner ebs.csi.aws.com'],
  ])('%s', (_name, obj, state, reason) => {
    const got = pvcRollout(obj);
    expect(got.state).toBe(state);
    expect(got.reason).toEqual(typeof reason === 'string' ? reason : expect.stringMatching(reason));
  });
});

describe('custom resources by their Ready or Available condition', () => {
  const cr = (status: object | undefined, generation = 1): RolloutObject => ({ apiVersion: 'example.com/v1', kind: 'Database', metadata: { name: 'db', generation }, spec: {}, status });
  const c = (type: string, status: string, reason = '', message = '', observedGeneration?: number) => ({ type, status, reason, message, observedGeneration });
  const cases: Case[] = [
    ['no status: nothing to wait for', cr(undefined), 'ready', 'no Ready or Available condition: nothing to wait for'],
    ['Ready=True', cr({ conditions: [c('Ready', 'True', 'Reconciled')] }), 'ready', 'Ready'],
    ['Available=True when there is no Ready', cr({ conditions: [c('Available', 'True')] }), 'ready', 'Available'],
    ['Ready wins over Available', cr({ conditions: [c('Available', 'True'), c('Ready', 'False', 'Provisioning', 'creating volume')] }), 'progressing', 'Ready=False: Provisioning: creating volume'],
    ['Ready=False with a failure reason', cr({ conditions: [c('Ready', 'False', 'ReconcileFailed', 'secret "creds" not found')] }), 'failed', 'Ready=False: ReconcileFailed: secret "creds" not found'],
    ['Ready=Unknown', cr({ conditions: [c('Ready', 'Unknown', 'Pending')] }), 'progressing', 'Ready=Unknown: Pending'],
    ['Stalled=True', cr({ conditions: [c('Ready', 'False', 'Waiting'), c('Stalled', 'True', 'InvalidSpec', 'size must be positive')] }), 'failed', 'Stalled: InvalidSpec: size must be positive'],
    ['status.observedGeneration behind', cr({ observedGeneration: 1, conditions: [c('Ready', 'True')] }, 2), 'progressing', /observe generation 2 \(observed 1\)/],
    ['condition observedGeneration behind', cr({ conditions: [c('Ready', 'True', '', '', 1)] }, 2), 'progressing', 'Ready condition is for generation 1, not 2 yet'],
  ];
  test.each(cases)('%s', (_name, obj, state, reason) => {
    const got = conditionRollout(obj);
    expect(got.state).toBe(state);
    expect(got.reason).toEqual(typeof reason === 'string' ? reason : expect.stringMatching(reason));
  });

  test('a CRD is there when Established; NamesAccepted=False fails', () => {
    const crd = (conditions: object[]): RolloutObject => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'x' }, status: { conditions } });
    expect(crdRollout(crd([c('NamesAccepted', 'True'), c('Established', 'True')])).state).toBe('ready');
    expect(crdRollout(crd([c('NamesAccepted', 'True')])).state).toBe('progressing');
    expect(crdRollout(crd([c('NamesAccepted', 'False', 'ListKindConflict', '"DatabaseList" is already in use')]))).toEqual({
      state: 'failed',
      reason: 'ListKindConflict: "DatabaseList" is already in use',
    });
  });
});

describe('which kinds have a rollout', () => {
  test.each([
    ['apps/v1', 'Deployment', true],
    ['apps/v1', 'StatefulSet', true],
    ['apps/v1', 'DaemonSet', true],
    ['batch/v1', 'Job', true],
    ['v1', 'Pod', true],
    ['v1', 'PersistentVolumeClaim', true],
    ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', true],
    ['example.com/v1', 'Database', true],
    ['gateway.networking.k8s.io/v1', 'Gateway', true],
    ['v1', 'Service', false],
    ['v1', 'ConfigMap', false],
    ['v1', 'Secret', false],
    ['networking.k8s.io/v1', 'Ingress', false],
    ['batch/v1', 'CronJob', false],
    ['rbac.authorization.k8s.io/v1', 'RoleBinding', false],
    ['apps/v1', 'ReplicaSet', false],
  ])('%s %s: %p', (apiVersion, kind, expected) => {
    expect(hasRollout(apiVersion, kind)).toBe(expected);
  });

  test('rolloutStatus dispatches by kind; kinds without a rollout are ready at once', () => {
    expect(rolloutStatus({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: {} })).toEqual({ state: 'ready', reason: 'applied: nothing to wait for' });
    expect(rolloutStatus({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: {}, status: {} }).state).toBe('progressing');
  });
});
