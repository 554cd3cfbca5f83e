/** The policy checks (image-latest, privileged, resources, probes, …) and per-object suppressions. */
import { CHECK_NAMES, type CheckName, type IgnoreRule, matchGlob, normalizePath, type PolicyConfig, type ResourceField } from './policy-config';
import { type ContainerAt, containersOf, describeObject, parseImage, type FieldPath, isRecord, type KubeObject, type ObjectRef, objectRef, type PodSpecAt, podSpecs } from '@kubeline/k8s';
import { type Finding, type Manifest } from './types';

export {
  CHECK_NAMES,
  CHECKS,
  DEFAULT_POLICY,
  parsePolicyConfig,
  type CheckName,
  type CheckSeverity,
  type IgnoreRule,
  type PolicyConfig,
} from './policy-config';

/** `ignore.kubeline.dev/<check>: "<reason>"` (or `/all`) on an object's or its pod template's metadata. */
const SUPPRESS_ANNOTATION_PREFIX = 'ignore.kubeline.dev/';

const SUPPRESSED = 'suppressed: ';

export interface PolicyOptions {
  /**
   * Whether a custom resource's field is a pod spec by its CRD's schema; undefined when the kind has
   * no known CRD (CustomResources.embedsPodSpec).
   */
  embedsPodSpec?: (object: KubeObject, path: FieldPath) => boolean | undefined;
  /**
   * Absolute workspace path: source files under it are matched by `ignore[].files` as
   * workspace-relative paths (`Origin.file` is absolute). Paths outside it are matched as they are.
   */
  workspace?: string;
}

interface Suppression {
  reason: string;
  /** `annotation ignore.kubeline.dev/probes`, `policy.yml:12` */
  by: string;
}

/** What the checks of one object share. */
interface Subject {
  object: KubeObject;
  ref: ObjectRef;
  pods: PodSpecAt[];
  config: PolicyConfig;
  annotations: Map<string, Suppression>;
  ignores: IgnoreRule[];
  out: Finding[];
}

/**
 * Runs the policy checks on a rendered bundle. Pure: the same objects and config give the same
 * findings, in bundle order.
 *
 * Each finding has the rule `policy/<check>`, the check's configured severity, a message naming
 * the container or field, a one-sentence `fix`, the object and the exact field `path` (the field
 * at fault, or the parent of the missing one) for resolving a file and line. Checks set to `off`
 * do not run.
 *
 * Suppressed findings stay in the returned list, so a summary can show what was waived and why:
 * their severity is `info` and their message starts with `suppressed: <reason> (<by>): ` — where
 * `<by>` is the annotation or the config file and line of the ignore entry ({@link isSuppressed}
 * tells them apart). A finding is suppressed by
 * - the annotation `ignore.kubeline.dev/<check>` (or `ignore.kubeline.dev/all`) on the object's
 *   metadata or, for workloads, its pod template's metadata, whose value is the reason. An empty
 *   reason suppresses nothing and adds a `policy/suppression-without-reason` warning; a check name
 *   that does not exist adds a `policy/suppression-unknown-check` warning;
 * - an entry of the config's `ignore` list whose `files` globs match the object's source file
 *   (`Origin.source ?? Origin.file`, made workspace-relative with `options.workspace`) and whose
 *   `objects` globs match `Kind/namespace/name`, for the checks it names.
 */
export function checkPolicies(manifests: readonly Manifest[], config: PolicyConfig, options: PolicyOptions = {}): Finding[] {
  const out: Finding[] = [];
  const allPods = manifests.map(({ object }) => (isRecord(object) ? podSpecs(object).filter((pod) => isPodSpec(object, pod, options)) : []));
  const workloads = config.checks['service-selects-workload'] === 'off' ? (new Map() as PodTemplateIndex) : podTemplates(manifests, allPods);
  manifests.forEach(({ object, origin }, index) => {
    if (!isRecord(object)) return;
    const ref = objectRef(object);
    const pods = allPods[index]!;
    const file = workspaceRelative(origin.source ?? origin.file, options.workspace);
    const subject: Subject = {
      object,
      ref,
      pods,
      config,
      annotations: annotationSuppressions(object, ref, pods, out),
      ignores: config.ignore.filter((rule) => ruleMatches(rule, file, ref)),
      out,
    };
    const on = (check: CheckName): boolean => config.checks[check] !== 'off';
    for (const pod of pods) {
      const windows = isRecord(pod.spec.os) && pod.spec.os.name === 'windows';
      for (const c of containersOf(pod)) {
        if (on('image-latest') || on('image-digest')) checkImage(subject, c);
        if (c.kind === 'ephemeralContainers') {
          if (on('privileged')) checkPrivileged(subject, c);
          continue;
        }
        if (on('resources')) checkResources(subject, c);
        if (on('probes') && c.kind === 'containers' && isLongRunning(object, pod)) checkProbes(subject, c);
        if (on('run-as-non-root') && !windows) checkRunAsNonRoot(subject, pod, c);
        if (on('privileged')) checkPrivileged(subject, c);
        if (on('read-only-root-filesystem') && !windows) checkReadOnlyRoot(subject, c);
      }
      if (on('host-path')) checkHostPath(subject, pod);
    }
    if (on('required-labels')) checkRequiredLabels(subject);
    if (on('service-selects-workload')) checkServiceSelects(subject, workloads);
  });
  return out;
}

// Where the built-in workload kinds keep their pod spec.
const WORKLOADS: Record<string, string> = {
  Pod: 'spec',
  PodTemplate: 'template.spec',
  Deployment: 'spec.template.spec',
  StatefulSet: 'spec.template.spec',
  DaemonSet: 'spec.template.spec',
  ReplicaSet: 'spec.template.spec',
  ReplicationController: 'spec.template.spec',
  Job: 'spec.template.spec',
  CronJob: 'spec.jobTemplate.spec.template.spec',
};

/**
 * Only real pod specs are checked: those of the workload kinds, and in custom resources those the
 * CRD's schema says are pod specs. A kind without a known CRD counts only a pod template's spec
 * (`….template.spec`, as Argo Rollouts and Knative keep it): a Kyverno `pattern` or a Gatekeeper
 * sample that looks like a pod spec is not one.
 */
function isPodSpec(object: KubeObject, pod: PodSpecAt, options: PolicyOptions): boolean {
  const where = pod.path.join('.');
  if (WORKLOADS[String(object.kind)] !== undefined && !String(object.apiVersion).includes('.')) return WORKLOADS[String(object.kind)] === where;
  const bySchema = options.embedsPodSpec?.(object, pod.path);
  if (bySchema !== undefined) return bySchema;
  return pod.path.length >= 3 && pod.path.at(-1) === 'spec' && pod.path.at(-2) === 'template' && !pod.path.some((p) => typeof p === 'number');
}

/** Whether a finding from {@link checkPolicies} was suppressed by an annotation or an ignore entry. */
export function isSuppressed(finding: Finding): boolean {
  return finding.rule.startsWith('policy/') && finding.severity === 'info' && finding.message.startsWith(SUPPRESSED);
}

function report(subject: Subject, check: CheckName, path: FieldPath, message: string, fix: string): void {
  const severity = subject.config.checks[check];
  if (severity === 'off') return;
  const finding: Finding = { rule: `policy/${check}`, severity, message, fix, object: subject.ref, path };
  const suppression = subject.annotations.get(check) ?? subject.annotations.get('all') ?? fromIgnores(subject.ignores, check);
  if (suppression) {
    finding.severity = 'info';
    finding.message = `${SUPPRESSED}${suppression.reason} (${suppression.by}): ${message}`;
  }
  subject.out.push(finding);
}

function fromIgnores(ignores: readonly IgnoreRule[], check: CheckName): Suppression | undefined {
  const rule = ignores.find((r) => r.checks.includes('*') || r.checks.includes(check));
  return rule ? { reason: rule.reason, by: rule.source ? `ignored in ${rule.source}` : 'ignored in the policy file' } : undefined;
}

function warn(subject: Pick<Subject, 'ref' | 'out'>, rule: string, path: FieldPath, message: string, fix: string): void {
  subject.out.push({ rule, severity: 'warning', message, fix, object: subject.ref, path });
}

// ---- suppression ----

function annotationSuppressions(object: KubeObject, ref: ObjectRef, pods: PodSpecAt[], out: Finding[]): Map<string, Suppression> {
  const found = new Map<string, Suppression>();
  const places: { annotations: unknown; path: FieldPath }[] = [];
  if (isRecord(object.metadata)) places.push({ annotations: object.metadata.annotations, path: ['metadata', 'annotations'] });
  for (const pod of pods) {
    // A Pod's pod spec has the object's own metadata.
    if (!pod.metadata || pod.metadata === object.metadata) continue;
    places.push({ annotations: pod.metadata.annotations, path: [...pod.path.slice(0, -1), 'metadata', 'annotations'] });
  }
  for (const { annotations, path } of places) {
    if (!isRecord(annotations)) continue;
    for (const [key, value] of Object.entries(annotations)) {
      if (!key.startsWith(SUPPRESS_ANNOTATION_PREFIX)) continue;
      const check = key.slice(SUPPRESS_ANNOTATION_PREFIX.length);
      if (check !== 'all' && !(CHECK_NAMES as readonly string[]).includes(check)) {
        warn({ ref, out }, 'policy/suppression-unknown-check', [...path, key], `annotation ${key} names no policy check, so it suppresses nothing`, `Use one of: ${['all', ...CHECK_NAMES].map((c) => SUPPRESS_ANNOTATION_PREFIX + c).join(', ')}.`);
        continue;
      }
      const reason = typeof value === 'string' ? value.trim() : '';
      if (!reason) {
        warn({ ref, out }, 'policy/suppression-without-reason', [...path, key], `annotation ${key} has no reason, so it suppresses nothing`, `Write why the check does not apply as the value, e.g. ${key}: "batch worker without a port".`);
        continue;
      }
      if (!found.has(check)) found.set(check, { reason, by: `annotation ${key}` });
    }
  }
  return found;
}

function workspaceRelative(file: string, workspace: string | undefined): string {
  const path = normalizePath(file);
  if (!workspace) return path;
  const root = normalizePath(workspace).replace(/\/+$/, '');
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
}

function ruleMatches(rule: IgnoreRule, file: string, ref: ObjectRef): boolean {
  if (rule.files && !rule.files.some((glob) => matchGlob(glob, file))) return false;
  if (rule.objects) {
    const full = `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
    const short = `${ref.kind}/${ref.name}`;
    if (!rule.objects.some((glob) => matchGlob(glob, glob.split('/').length === 2 ? short : full))) return false;
  }
  return true;
}

// ---- container checks ----

function containerName(c: ContainerAt): string {
  const name = typeof c.container.name === 'string' ? `"${c.container.name}"` : `#${c.path[c.path.length - 1]}`;
  return `${c.kind === 'initContainers' ? 'init container' : c.kind === 'ephemeralContainers' ? 'ephemeral container' : 'container'} ${name}`;
}

/** The last existing record along `keys` below `base`, as a path. */
function deepest(base: Record<string, unknown>, basePath: FieldPath, keys: readonly string[]): FieldPath {
  let value: Record<string, unknown> = base;
  const path = [...basePath];
  for (const key of keys) {
    const next = value[key];
    if (!isRecord(next)) break;
    value = next;
    path.push(key);
  }
  return path;
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;


function checkImage(subject: Subject, c: ContainerAt): void {
  const image = c.container.image;
  if (typeof image !== 'string' || image.trim() === '') return;
  const path = [...c.path, 'image'];
  const { tag, digest } = parseImage(image.trim());
  if (digest !== undefined && DIGEST.test(digest)) return;
  const on = (check: CheckName): boolean => subject.config.checks[check] !== 'off';
  if (on('image-latest') && digest === undefined && (tag === undefined || tag === 'latest')) {
    report(
      subject,
      'image-latest',
      path,
      `${containerName(c)} image "${image}" ${tag ? 'uses the latest tag' : 'has no tag, so it pulls latest'}: what runs changes without a change to the manifest`,
      'Set the image to a version tag or, better, the digest that was tested (name@sha256:…), e.g. with the images input.',
    );
    return; // one finding per image: image-digest would say the same more quietly
  }
  if (!on('image-digest')) return;
  report(
    subject,
    'image-digest',
    path,
    digest !== undefined ? `${containerName(c)} image "${image}" has a malformed digest` : `${containerName(c)} image "${image}" is not pinned by digest`,
    'Pin the image by digest (name@sha256:…), e.g. with the images input, so every environment runs exactly what was tested.',
  );
}

const RESOURCE_NAMES: Record<string, string> = { cpu: 'cpu', memory: 'memory', 'ephemeral-storage': 'ephemeral-storage' };

function checkResources(subject: Subject, c: ContainerAt): void {
  const resources = isRecord(c.container.resources) ? c.container.resources : {};
  const section = (name: string): Record<string, unknown> => (isRecord(resources[name]) ? (resources[name] as Record<string, unknown>) : {});
  const set = (value: unknown): boolean => value !== undefined && value !== null && value !== '';
  const missing = subject.config.requiredResources.filter((field: ResourceField) => {
    const [kind, resource] = field.split('.') as ['requests' | 'limits', string];
    // Kubernetes takes a limit without a request as the request too.
    return kind === 'requests' ? !set(section('requests')[resource]) && !set(section('limits')[resource]) : !set(section('limits')[resource]);
  });
  if (missing.length === 0) return;
  const sections = [...new Set(missing.map((field) => field.split('.')[0]!))];
  const path = deepest(c.container, c.path, sections.length === 1 ? ['resources', sections[0]!] : ['resources']);
  const words = missing.map((field) => {
    const [kind, resource] = field.split('.') as [string, string];
    return `${RESOURCE_NAMES[resource] ?? resource} ${kind === 'requests' ? 'request' : 'limit'}`;
  });
  report(
    subject,
    'resources',
    path,
    `${containerName(c)} sets no ${words.join(', ')}`,
    `Set ${missing.map((field) => `resources.${field}`).join(', ')} so the scheduler can place the pod and one container cannot starve its node.`,
  );
}

const RUN_TO_COMPLETION = new Set(['Job', 'CronJob']);

function isLongRunning(object: KubeObject, pod: PodSpecAt): boolean {
  if (RUN_TO_COMPLETION.has(String(object.kind))) return false;
  if (pod.spec.restartPolicy === 'Never' || pod.spec.restartPolicy === 'OnFailure') return false;
  // Helm hooks (tests, migrations) run to completion.
  const annotations = isRecord(object.metadata) && isRecord(object.metadata.annotations) ? object.metadata.annotations : {};
  return annotations['helm.sh/hook'] === undefined;
}

function checkProbes(subject: Subject, c: ContainerAt): void {
  const missing = (['readinessProbe', 'livenessProbe'] as const).filter((probe) => !isRecord(c.container[probe]));
  if (missing.length === 0) return;
  report(
    subject,
    'probes',
    c.path,
    `${containerName(c)} has no ${missing.join(' or ')}`,
    missing.length === 2
      ? 'Add a readinessProbe so traffic waits until the container is ready, and a livenessProbe so a hung container is restarted.'
      : missing[0] === 'readinessProbe'
        ? 'Add a readinessProbe so traffic and rollouts wait until the container is ready.'
        : 'Add a livenessProbe so a hung container is restarted.',
  );
}

function securityContext(value: Record<string, unknown>): Record<string, unknown> {
  return isRecord(value.securityContext) ? value.securityContext : {};
}

function checkRunAsNonRoot(subject: Subject, pod: PodSpecAt, c: ContainerAt): void {
  const own = securityContext(c.container);
  const podLevel = securityContext(pod.spec);
  // The container's setting wins over the pod's.
  const pick = (key: string): { value: unknown; path: FieldPath } =>
    own[key] !== undefined ? { value: own[key], path: [...c.path, 'securityContext', key] } : { value: podLevel[key], path: [...pod.path, 'securityContext', key] };
  const user = pick('runAsUser');
  const nonRoot = pick('runAsNonRoot');
  const fix = 'Set securityContext.runAsNonRoot: true and a non-zero runAsUser in the pod or container, and build the image to run as that user.';
  if (user.value === 0) {
    report(subject, 'run-as-non-root', user.path, `${containerName(c)} runs as root (runAsUser: 0)`, fix);
  } else if (typeof user.value === 'number' && user.value > 0) {
    return;
  } else if (nonRoot.value === true) {
    return;
  } else if (nonRoot.value === false) {
    report(subject, 'run-as-non-root', nonRoot.path, `${containerName(c)} sets runAsNonRoot: false`, fix);
  } else {
    report(subject, 'run-as-non-root', deepest(c.container, c.path, ['securityContext']), `${containerName(c)} may run as root: neither runAsNonRoot: true nor a non-zero runAsUser is set`, fix);
  }
}

function checkPrivileged(subject: Subject, c: ContainerAt): void {
  const sc = securityContext(c.container);
  if (sc.privileged === true) {
    report(
      subject,
      'privileged',
      [...c.path, 'securityContext', 'privileged'],
      `${containerName(c)} is privileged: it has every capability and the host's devices`,
      'Remove privileged: true and add only the capabilities the container needs under securityContext.capabilities.add.',
    );
  }
  if (sc.allowPrivilegeEscalation === true) {
    report(
      subject,
      'privileged',
      [...c.path, 'securityContext', 'allowPrivilegeEscalation'],
      `${containerName(c)} sets allowPrivilegeEscalation: true, so its processes can gain more privileges than they started with`,
      'Set securityContext.allowPrivilegeEscalation: false.',
    );
  }
}

function checkReadOnlyRoot(subject: Subject, c: ContainerAt): void {
  const sc = securityContext(c.container);
  if (sc.readOnlyRootFilesystem === true) return;
  report(
    subject,
    'read-only-root-filesystem',
    sc.readOnlyRootFilesystem === false ? [...c.path, 'securityContext', 'readOnlyRootFilesystem'] : deepest(c.container, c.path, ['securityContext']),
    `${containerName(c)} has a writable root filesystem`,
    'Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the program writes (e.g. /tmp).',
  );
}

function checkHostPath(subject: Subject, pod: PodSpecAt): void {
  const volumes = pod.spec.volumes;
  if (!Array.isArray(volumes)) return;
  volumes.forEach((volume, i) => {
    if (!isRecord(volume) || !isRecord(volume.hostPath)) return;
    const name = typeof volume.name === 'string' ? `"${volume.name}"` : `#${i}`;
    const hostPath = typeof volume.hostPath.path === 'string' ? ` ${volume.hostPath.path}` : '';
    report(
      subject,
      'host-path',
      [...pod.path, 'volumes', i, 'hostPath'],
      `volume ${name} mounts the node's${hostPath || ' filesystem'}: the pod is tied to its node and can read or change it`,
      'Use an emptyDir, a ConfigMap or a PersistentVolumeClaim instead of hostPath.',
    );
  });
}

// ---- object checks ----

function checkRequiredLabels(subject: Subject): void {
  const { object } = subject;
  if (typeof object.kind !== 'string' || object.kind === '') return;
  const metadata = isRecord(object.metadata) ? object.metadata : undefined;
  const labels = metadata && isRecord(metadata.labels) ? metadata.labels : {};
  const missing = subject.config.requiredLabels.filter((label) => typeof labels[label] !== 'string' || labels[label] === '');
  if (missing.length === 0) return;
  report(
    subject,
    'required-labels',
    deepest(object, [], ['metadata', 'labels']),
    `${missing.length === 1 ? 'label' : 'labels'} ${missing.join(', ')} missing`,
    `Add ${missing.join(', ')} to metadata.labels (kustomize labels or the chart's common labels set them on every object).`,
  );
}

interface PodTemplate {
  ref: ObjectRef;
  labels: Record<string, unknown>;
}

/** Labelled pod templates, by each of their `key=value` labels. */
type PodTemplateIndex = Map<string, PodTemplate[]>;

function podTemplates(manifests: readonly Manifest[], pods: readonly PodSpecAt[][]): PodTemplateIndex {
  const index: PodTemplateIndex = new Map();
  manifests.forEach(({ object }, i) => {
    for (const pod of pods[i]!) {
      if (!pod.metadata || !isRecord(pod.metadata.labels)) continue;
      const template = { ref: objectRef(object), labels: pod.metadata.labels };
      for (const [key, value] of Object.entries(template.labels)) {
        const list = index.get(`${key}=${String(value)}`);
        if (list) list.push(template);
        else index.set(`${key}=${String(value)}`, [template]);
      }
    }
  });
  return index;
}

function checkServiceSelects(subject: Subject, workloads: PodTemplateIndex): void {
  const { object, ref } = subject;
  if (object.kind !== 'Service' || object.apiVersion !== 'v1') return;
  const spec = isRecord(object.spec) ? object.spec : {};
  if (spec.type === 'ExternalName' || !isRecord(spec.selector)) return;
  const selector = Object.entries(spec.selector);
  if (selector.length === 0) return;
  const selects = (labels: Record<string, unknown>): boolean => selector.every(([key, value]) => labels[key] !== undefined && String(labels[key]) === String(value));
  // Only templates carrying the rarest of the selector's labels can match.
  let candidates: readonly PodTemplate[] | undefined;
  for (const [key, value] of selector) {
    const list = workloads.get(`${key}=${String(value)}`) ?? [];
    if (!candidates || list.length < candidates.length) candidates = list;
  }
  const matching = (candidates ?? []).filter((w) => selects(w.labels));
  if (matching.some((w) => w.ref.namespace === ref.namespace)) return;
  const elsewhere = matching[0];
  report(
    subject,
    'service-selects-workload',
    ['spec', 'selector'],
    `selector ${selector.map(([k, v]) => `${k}=${String(v)}`).join(',')} matches no pod template in ${ref.namespace ? `namespace ${ref.namespace}` : 'the bundle without a namespace'}${elsewhere ? ` (${describeObject(elsewhere.ref)} matches, in ${elsewhere.ref.namespace ? `namespace ${elsewhere.ref.namespace}` : 'no namespace'})` : ''}`,
    "Make spec.selector match the pod template labels of the workload the Service fronts, in the Service's namespace.",
  );
}
