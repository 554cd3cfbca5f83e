/** The one install order: what other objects need is applied (and written) first. */

/**
 * Namespaces and CustomResourceDefinitions first (everything else may live in or be one of them),
 * then Helm's install order; kinds not listed (custom resources) come last.
 */
const INSTALL_ORDER = [
  'Namespace',
  'CustomResourceDefinition',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
];

/** A kind's place in the install order; kinds not listed (custom resources) share the last place. */
export function installRank(kind: string): number {
  const i = INSTALL_ORDER.indexOf(kind);
  return i < 0 ? INSTALL_ORDER.length : i;
}

/** `items` sorted by the install order of their kind, bundle order kept within a kind (a stable sort). */
export function inInstallOrder<T>(items: readonly T[], kindOf: (item: T) => string): T[] {
  return items
    .map((item, i) => ({ item, i, rank: installRank(kindOf(item)) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map(({ item }) => item);
}
