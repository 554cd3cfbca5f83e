/**
 * What the API server checks in code and no OpenAPI schema carries (k8s.io/kubernetes
 * pkg/apis/core/validation, pkg/apis/apps/validation, pkg/apis/rbac/validation), and the field
 * warnings it gives (pkg/api/pod/warnings.go). Built-in kinds only: a custom resource that embeds a
 * pod spec is checked by its CRD's schema alone, so these rules would reject what the server takes.
 */
import { type FieldPath, formatPath, isRecord, type KubeObject } from '@kubeline/k8s';
import type { Finding } from './types';

type Found = Pick<Finding, 'rule' | 'severity' | 'message' | 'fix' | 'path'>;

// Where the built-in kinds keep their pod template (or pod spec, for Pod).
const POD_TEMPLATE: Record<string, FieldPath> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  PodTemplate: ['template'],
};
const BUILT_IN = new Set(['v1', 'apps/v1', 'batch/v1']);
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];

// Volume plugins the API server warns about: deprecated, most of them removed (non-functional).
const DEPRECATED_VOLUMES: Record<string, string> = {
  photonPersistentDisk: 'deprecated in v1.11, non-functional in v1.16+',
  gitRepo: 'deprecated in v1.11',
  scaleIO: 'deprecated in v1.16, non-functional in v1.22+',
  flocker: 'deprecated in v1.22, non-functional in v1.25+',
  storageos: 'deprecated in v1.22, non-functional in v1.25+',
  quobyte: 'deprecated in v1.22, non-functional in v1.25+',
  glusterfs: 'deprecated in v1.25, non-functional in v1.26+',
  cephfs: 'deprecated in v1.28, non-functional in v1.31+',
  rbd: 'deprecated in v1.28, non-functional in v1.31+',
};

const at = (value: unknown, path: FieldPath): unknown => path.reduce<unknown>((v, k) => (isRecord(v) || Array.isArray(v) ? (v as Record<string | number, unknown>)[k] : undefined), value);
const records = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter(isRecord) : []);

/** The API server's checks in code of one built-in object: errors and warnings, each with its field. */
export function apiServerRules(object: KubeObject): Found[] {
  const out: Found[] = [];
  const kind = String(object.kind);
  if (!BUILT_IN.has(String(object.apiVersion)) && object.apiVersion !== 'rbac.authorization.k8s.io/v1') return out;
  if (object.apiVersion === 'rbac.authorization.k8s.io/v1') {
    if (kind === 'ClusterRoleBinding') checkSubjects(object, out);
    return out;
  }
  if (kind === 'Pod') checkPod(object.spec, isRecord(object.metadata) ? object.metadata : {}, ['spec'], ['metadata'], out);
  const template = POD_TEMPLATE[kind];
  if (template) {
    const t = at(object, template);
    // A StatefulSet's volumeClaimTemplates are volumes of its pods too.
    const claims = kind === 'StatefulSet' && isRecord(object.spec) ? records(object.spec.volumeClaimTemplates).map((c) => (isRecord(c.metadata) ? c.metadata.name : undefined)) : [];
    if (isRecord(t)) checkPod(t.spec, isRecord(t.metadata) ? t.metadata : {}, [...template, 'spec'], [...template, 'metadata'], out, claims.filter((n): n is string => typeof n === 'string'));
    if (kind === 'ReplicationController') checkReplicationController(object, out);
  }
  if (kind === 'Service' && isRecord(object.spec))
    records(object.spec.ports).forEach((port, i) => checkProtocol(port, ['spec', 'ports', i], out));
  if ((kind === 'ConfigMap' || kind === 'Secret') && object.apiVersion === 'v1') checkDataSize(object, kind, out);
  return out;
}

/** The API server's limit on a ConfigMap's or Secret's data (pkg/apis/core/validation: MaxSecretSize, 1 MiB). */
const MAX_DATA_BYTES = 1024 * 1024;

/** Data and binaryData together within 1 MiB, counted as the server counts them (Secret data decoded from base64). */
function checkDataSize(object: KubeObject, kind: string, out: Found[]): void {
  let total = 0;
  for (const field of ['data', 'binaryData', 'stringData'] as const) {
    const map = object[field];
    if (!isRecord(map)) continue;
    for (const [key, value] of Object.entries(map)) {
      if (typeof value !== 'string') continue;
      const base64 = field === 'binaryData' || (kind === 'Secret' && field === 'data');
      total += key.length + (base64 ? Buffer.from(value, 'base64').length : Buffer.byteLength(value));
    }
  }
  if (total > MAX_DATA_BYTES) {
    out.push(error('k8s/data-too-large', `${kind} data is ${total} bytes, over the API server's limit of ${MAX_DATA_BYTES} bytes (1 MiB)`, `Split it into several ${kind}s, or keep the large file elsewhere (a volume, an image, object storage).`, ['data']));
  }
}

function checkPod(spec: unknown, metadata: Record<string, unknown>, path: FieldPath, metaPath: FieldPath, out: Found[], claims: readonly string[] = []): void {
  if (!isRecord(spec)) return;
  const volumes = new Set([...records(spec.volumes).map((v) => v.name).filter((n): n is string => typeof n === 'string'), ...claims]);
  const ports = new Map<string, FieldPath>();
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
  const podSeccomp = isRecord(spec.securityContext) && spec.securityContext.seccompProfile !== undefined;
  for (const list of ['initContainers', 'containers'] as const) {
    records(spec[list]).forEach((container, i) => {
      const where = [...path, list, i];
      records(container.volumeMounts).forEach((mount, j) => {
        if (typeof mount.name === 'string' && !volumes.has(mount.name))
          out.push(error('k8s/volume-mount-not-found', `volumeMount "${mount.name}" names no volume of the pod`, `Add a volume named "${mount.name}" to ${formatPath([...path, 'volumes'])}, or mount one that exists${volumes.size ? ` (${[...volumes].slice(0, 8).join(', ')})` : ''}.`, [...where, 'volumeMounts', j, 'name']));
      });
      records(container.volumeDevices).forEach((device, j) => {
        if (typeof device.name === 'string' && !volumes.has(device.name))
          out.push(error('k8s/volume-mount-not-found', `volumeDevice "${device.name}" names no volume of the pod`, `Add a volume named "${device.name}", or use one that exists.`, [...where, 'volumeDevices', j, 'name']));
      });
      records(container.ports).forEach((port, j) => {
        checkProtocol(port, [...where, 'ports', j], out);
        if (typeof port.containerPort !== 'number') return;
        const key = `${port.containerPort}/${typeof port.protocol === 'string' ? port.protocol : 'TCP'}/${String(port.hostIP ?? '')}/${String(port.hostPort ?? 0)}`;
        const first = ports.get(key);
        if (first) out.push(warning('k8s/duplicate-port', `port ${port.containerPort} is defined twice (also at ${formatPath(first)})`, 'Remove one of the two port entries: the API server warns, and apply may drop one.', [...where, 'ports', j]));
        else ports.set(key, [...where, 'ports', j]);
      });
      const seccompKey = `container.seccomp.security.alpha.kubernetes.io/${String(container.name)}`;
      if (annotations[seccompKey] !== undefined && !(isRecord(container.securityContext) && container.securityContext.seccompProfile !== undefined))
        out.push(warning('k8s/deprecated-field', `annotation ${seccompKey} is non-functional in v1.27+`, 'Use the container\'s securityContext.seccompProfile field instead.', [...metaPath, 'annotations', seccompKey]));
    });
  }
  // Windows HostProcess containers share the node's network: the API server requires hostNetwork.
  const hostProcess = (sc: unknown) => isRecord(sc) && isRecord(sc.windowsOptions) && sc.windowsOptions.hostProcess === true;
  const containers = [...records(spec.initContainers), ...records(spec.containers)];
  if ((hostProcess(spec.securityContext) || containers.some((c) => hostProcess(c.securityContext))) && spec.hostNetwork !== true)
    out.push(error('k8s/host-process-network', 'the pod has Windows HostProcess containers, so hostNetwork must be true', 'Set hostNetwork: true in the pod spec (HostProcess containers run in the node\'s network).', [...path, 'hostNetwork']));
  if (annotations['seccomp.security.alpha.kubernetes.io/pod'] !== undefined && !podSeccomp)
    out.push(warning('k8s/deprecated-field', 'annotation seccomp.security.alpha.kubernetes.io/pod is non-functional in v1.27+', "Use the pod's securityContext.seccompProfile field instead.", [...metaPath, 'annotations', 'seccomp.security.alpha.kubernetes.io/pod']));
  records(spec.volumes).forEach((volume, i) => {
    for (const [plugin, note] of Object.entries(DEPRECATED_VOLUMES))
      if (volume[plugin] !== undefined && volume[plugin] !== null)
        out.push(warning('k8s/deprecated-volume', `volume "${String(volume.name)}" uses the ${plugin} plugin: ${note}`, 'Move the volume to a CSI driver (or another supported volume type).', [...path, 'volumes', i, plugin]));
  });
}

function checkProtocol(port: Record<string, unknown>, path: FieldPath, out: Found[]): void {
  const protocol = port.protocol;
  if (typeof protocol !== 'string' || PROTOCOLS.includes(protocol)) return;
  const upper = protocol.toUpperCase();
  out.push(error('k8s/invalid-protocol', `protocol "${protocol}" is not supported: it is TCP, UDP or SCTP, in capitals`, PROTOCOLS.includes(upper) ? `Write ${upper}.` : 'Use TCP, UDP or SCTP.', [...path, 'protocol']));
}

function checkReplicationController(object: KubeObject, out: Found[]): void {
  const spec = isRecord(object.spec) ? object.spec : {};
  const template = isRecord(spec.template) ? spec.template : undefined;
  const labels = template && isRecord(template.metadata) && isRecord(template.metadata.labels) ? template.metadata.labels : {};
  const selector = isRecord(spec.selector) ? spec.selector : {};
  // The API server takes the template's labels as the selector when there is none.
  if (Object.keys(selector).length === 0 && Object.keys(labels).length === 0)
    out.push(error('k8s/missing-selector', 'the ReplicationController has no selector, and its pod template no labels to take one from', 'Add spec.selector with labels the pod template carries (spec.template.metadata.labels).', ['spec']));
}

function checkSubjects(object: KubeObject, out: Found[]): void {
  records(object.subjects).forEach((subject, i) => {
    if (subject.kind === 'ServiceAccount' && (typeof subject.namespace !== 'string' || subject.namespace === ''))
      out.push(error('k8s/subject-namespace', `ServiceAccount subject "${String(subject.name)}" has no namespace`, 'A ClusterRoleBinding cannot take its own namespace: add the ServiceAccount\'s namespace to the subject.', ['subjects', i]));
  });
}

function error(rule: string, message: string, fix: string, path: FieldPath): Found {
  return { rule, severity: 'error', message: `${formatPath(path)}: ${message}`, fix, path };
}

function warning(rule: string, message: string, fix: string, path: FieldPath): Found {
  return { rule, severity: 'warning', message: `${formatPath(path)}: ${message}`, fix, path };
}
