/** The policy config file: check severities, checks turned off, ignored files and objects with reasons. */
import { ConfigurationError } from '@kubeline/toolkit';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { isRecord } from '@kubeline/k8s';
import { type Severity } from './types';

/** The policy checks, in the order they run and are listed. */
export const CHECK_NAMES = [
  'image-latest',
  'image-digest',
  'resources',
  'probes',
  'run-as-non-root',
  'privileged',
  'host-path',
  'read-only-root-filesystem',
  'required-labels',
  'service-selects-workload',
] as const;

export type CheckName = (typeof CHECK_NAMES)[number];

/** A check's severity in the config; `off` does not run it. */
export type CheckSeverity = Severity | 'off';

const CHECK_SEVERITIES: readonly CheckSeverity[] = ['error', 'warning', 'info', 'off'];

/** The resource settings the `resources` check can require, as `resources.<section>.<name>`. */
const RESOURCE_FIELDS = [
  'requests.cpu',
  'requests.memory',
  'limits.cpu',
  'limits.memory',
  'requests.ephemeral-storage',
  'limits.ephemeral-storage',
] as const;

export type ResourceField = (typeof RESOURCE_FIELDS)[number];

/**
 * What each check looks at and its default severity. Errors by default are kept for what is
 * wrong in every cluster (a moving `latest` image, a privileged container); what is good practice
 * but often has a reason not to be followed (third-party images by tag, images that write to their
 * root filesystem, workers without probes) is a warning, which fails the step only with `fail-on: warning`.
 */
export const CHECKS: Readonly<Record<CheckName, { readonly severity: CheckSeverity; readonly summary: string; readonly options: readonly string[] }>> = {
  'image-latest': { severity: 'error', summary: 'no container image is untagged or tagged `latest` (unless pinned by digest)', options: [] },
  'image-digest': { severity: 'warning', summary: 'container images are pinned by digest (`name@sha256:…`)', options: [] },
  resources: {
    severity: 'warning',
    summary: 'containers and init containers set cpu and memory requests and a memory limit (a limit alone counts as the request, as Kubernetes does)',
    options: ['require'],
  },
  probes: {
    severity: 'warning',
    summary: 'containers of long-running workloads have a readinessProbe and a livenessProbe (not Jobs, CronJobs, Helm hooks, pods that do not restart, init containers)',
    options: [],
  },
  'run-as-non-root': { severity: 'warning', summary: 'containers run as non-root: runAsNonRoot true or runAsUser > 0, in the pod or container securityContext', options: [] },
  privileged: { severity: 'error', summary: 'no container sets privileged: true or allowPrivilegeEscalation: true', options: [] },
  'host-path': { severity: 'warning', summary: 'no hostPath volumes', options: [] },
  'read-only-root-filesystem': { severity: 'warning', summary: 'containers and init containers set readOnlyRootFilesystem: true', options: [] },
  'required-labels': { severity: 'warning', summary: 'every object carries the required labels (default `app.kubernetes.io/name`)', options: ['labels'] },
  'service-selects-workload': {
    severity: 'warning',
    summary: 'each Service with a selector selects the pod template of a workload in the bundle, in the same namespace',
    options: [],
  },
};

/** One entry of the config's `ignore` list: findings it matches are reported as suppressed. */
export interface IgnoreRule {
  /** Globs on the object's workspace-relative source file; `*`, `**` and `?`. */
  readonly files?: readonly string[];
  /** Globs on `Kind/namespace/name` (namespace empty for objects without one) or `Kind/name` (any namespace). */
  readonly objects?: readonly string[];
  /** Check names, or `*` for all. */
  readonly checks: readonly (CheckName | '*')[];
  readonly reason: string;
  /** Where the entry is written (`policy.yml:12`), named in suppressed findings. */
  readonly source?: string;
}

/** The policy checks' settings: severities, their options and the ignores. */
export interface PolicyConfig {
  readonly checks: Readonly<Record<CheckName, CheckSeverity>>;
  /** Labels every object must carry (`required-labels`). */
  readonly requiredLabels: readonly string[];
  /** Resource settings every container must make (`resources`). */
  readonly requiredResources: readonly ResourceField[];
  readonly ignore: readonly IgnoreRule[];
}

/** The settings used when the user points to no policy file. */
export const DEFAULT_POLICY: PolicyConfig = {
  checks: Object.fromEntries(CHECK_NAMES.map((name) => [name, CHECKS[name].severity])) as Record<CheckName, CheckSeverity>,
  requiredLabels: ['app.kubernetes.io/name'],
  requiredResources: ['requests.cpu', 'requests.memory', 'limits.memory'],
  ignore: [],
};

type KeyPath = readonly (string | number)[];

const TOP_LEVEL_KEYS = ['checks', 'ignore'];
const IGNORE_KEYS = ['files', 'objects', 'checks', 'reason'];
// A label key: an optional DNS-subdomain prefix and a name of at most 63 characters.
const LABEL_KEY = /^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * Parses a policy file (the `policy` input):
 *
 * ```yaml
 * checks:
 *   image-digest: error                 # error | warning | info | off
 *   required-labels: { severity: warning, labels: [app.kubernetes.io/name, app.kubernetes.io/part-of] }
 *   resources: { require: [requests.cpu, requests.memory, limits.memory, limits.cpu] }
 * ignore:
 *   - files: ["deploy/chart/charts/postgresql/**"]   # globs on the workspace-relative source file
 *     checks: ["*"]
 *     reason: third-party chart
 *   - objects: ["Deployment/kube-system/*"]           # Kind/namespace/name (or Kind/name) globs
 *     checks: [probes]
 *     reason: system components are probed by their operator
 * ```
 *
 * Checks not named keep their default severity. Every mistake — an unknown key or check, a bad
 * severity, an ignore entry without a reason — is a `ConfigurationError` that names the file, the
 * line, the key and the valid values.
 */
export function parsePolicyConfig(text: string, file: string): PolicyConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const error = doc.errors[0]!;
    const at = error.linePos ? `:${error.linePos[0].line}:${error.linePos[0].col}` : '';
    throw new ConfigurationError(`${file}${at}: not valid YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }

  // The line of a key (or list item), for messages; the nearest enclosing one when it is missing.
  const lineOf = (path: KeyPath): number | undefined => {
    let node: unknown = doc.contents;
    let offset = isScalar(node) || isMap(node) || isSeq(node) ? node.range?.[0] : undefined;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === part);
        if (!pair) break;
        if (isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
        node = pair.value;
      } else if (isSeq(node) && typeof part === 'number') {
        node = node.items[part];
        if (isScalar(node) || isMap(node) || isSeq(node)) offset = node.range?.[0] ?? offset;
        else break;
      } else break;
    }
    return offset === undefined ? undefined : lineCounter.linePos(offset).line;
  };
  const fail = (path: KeyPath, message: string): never => {
    const line = lineOf(path);
    throw new ConfigurationError(`${file}${line ? `:${line}` : ''}: ${path.length ? `${formatKey(path)}: ` : ''}${message}`);
  };

  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigurationError(`${file}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (root === null || root === undefined) return DEFAULT_POLICY;
  if (!isRecord(root)) return fail([], `expected a mapping with the keys ${TOP_LEVEL_KEYS.join(', ')}`);
  unknownKeys(root, TOP_LEVEL_KEYS, [], 'key', fail);

  const checks: Record<CheckName, CheckSeverity> = { ...DEFAULT_POLICY.checks };
  let requiredLabels = DEFAULT_POLICY.requiredLabels;
  let requiredResources = DEFAULT_POLICY.requiredResources;
  if (root.checks !== undefined && root.checks !== null) {
    if (!isRecord(root.checks)) fail(['checks'], `expected a mapping of check names to severities (${CHECK_SEVERITIES.join(' | ')})`);
    for (const [name, value] of Object.entries(root.checks as Record<string, unknown>)) {
      const path = ['checks', name];
      if (!isCheckName(name)) fail(path, `unknown check '${name}'; valid checks: ${CHECK_NAMES.join(', ')}`);
      const check = name as CheckName;
      if (!isRecord(value)) {
        checks[check] = severity(value, path, fail);
        continue;
      }
      unknownKeys(value, ['severity', ...CHECKS[check].options], path, `setting of ${check}`, fail);
      if (value.severity !== undefined) checks[check] = severity(value.severity, [...path, 'severity'], fail);
      if (check === 'required-labels' && value.labels !== undefined) {
        requiredLabels = stringList(value.labels, [...path, 'labels'], fail);
        requiredLabels.forEach((label, i) => {
          if (!LABEL_KEY.test(label)) fail([...path, 'labels', i], `'${label}' is not a label key (an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.')`);
        });
      }
      if (check === 'resources' && value.require !== undefined) {
        const list = stringList(value.require, [...path, 'require'], fail);
        list.forEach((field, i) => {
          if (!(RESOURCE_FIELDS as readonly string[]).includes(field))
            fail([...path, 'require', i], `unknown resource setting '${field}'; valid: ${RESOURCE_FIELDS.join(', ')}`);
        });
        requiredResources = list as ResourceField[];
      }
    }
  }

  const ignore: IgnoreRule[] = [];
  if (root.ignore !== undefined && root.ignore !== null) {
    if (!Array.isArray(root.ignore)) fail(['ignore'], `expected a list of entries with the keys ${IGNORE_KEYS.join(', ')}`);
    (root.ignore as unknown[]).forEach((entry, i) => {
      const path = ['ignore', i];
      if (!isRecord(entry)) return fail(path, `expected a mapping with the keys ${IGNORE_KEYS.join(', ')}`);
      unknownKeys(entry, IGNORE_KEYS, path, 'key of an ignore entry', fail);
      const files = entry.files === undefined ? undefined : stringList(entry.files, [...path, 'files'], fail);
      const objects = entry.objects === undefined ? undefined : stringList(entry.objects, [...path, 'objects'], fail);
      if (!files && !objects) fail(path, "an ignore entry needs 'files' or 'objects' (to turn a check off everywhere, set it to off under 'checks')");
      objects?.forEach((pattern, j) => {
        const parts = pattern.split('/').length;
        if (parts < 2 || parts > 3) fail([...path, 'objects', j], `'${pattern}' is not Kind/namespace/name or Kind/name (globs allowed, e.g. Deployment/kube-system/*)`);
      });
      if (entry.checks === undefined) fail(path, `an ignore entry needs 'checks': a list of check names or ["*"]; valid checks: ${CHECK_NAMES.join(', ')}`);
      const names = stringList(entry.checks, [...path, 'checks'], fail);
      names.forEach((name, j) => {
        if (name !== '*' && !isCheckName(name)) fail([...path, 'checks', j], `unknown check '${name}'; valid checks: *, ${CHECK_NAMES.join(', ')}`);
      });
      if (typeof entry.reason !== 'string' || entry.reason.trim() === '')
        fail([...path, ...(entry.reason === undefined ? [] : ['reason'])], "every ignore entry needs a 'reason': say why the checks do not apply, e.g. reason: third-party chart");
      const line = lineOf(path);
      ignore.push({
        ...(files ? { files } : {}),
        ...(objects ? { objects } : {}),
        checks: names as (CheckName | '*')[],
        reason: (entry.reason as string).trim(),
        source: `${file}${line ? `:${line}` : ''}`,
      });
    });
  }
  return { checks, requiredLabels, requiredResources, ignore };
}

function isCheckName(name: string): name is CheckName {
  return (CHECK_NAMES as readonly string[]).includes(name);
}

function severity(value: unknown, path: KeyPath, fail: (path: KeyPath, message: string) => never): CheckSeverity {
  // `false` reads as off: YAML 1.1 habits (`off` unquoted) should not turn into an error.
  if (value === false) return 'off';
  if (typeof value === 'string' && (CHECK_SEVERITIES as readonly string[]).includes(value)) return value as CheckSeverity;
  return fail(path, `unknown severity ${JSON.stringify(value)}; valid: ${CHECK_SEVERITIES.join(', ')}`);
}

function stringList(value: unknown, path: KeyPath, fail: (path: KeyPath, message: string) => never): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) return fail(path, 'expected a non-empty list of strings');
  list.forEach((item, i) => {
    if (typeof item !== 'string' || item === '') fail([...path, i], `expected a non-empty string, got ${JSON.stringify(item)}`);
  });
  return list as string[];
}

function unknownKeys(value: Record<string, unknown>, valid: readonly string[], path: KeyPath, what: string, fail: (path: KeyPath, message: string) => never): void {
  for (const key of Object.keys(value)) {
    if (!valid.includes(key)) fail([...path, key], `unknown ${what} '${key}'; valid: ${valid.join(', ')}`);
  }
}

/** `checks.image-digest`, `ignore[0].reason` */
function formatKey(path: KeyPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

/**
 * A glob as a RegExp over `/`-separated paths: `*` is any run of characters but `/`, `?` one
 * character but `/`, `**` as a whole segment any number of segments (none included). Everything
 * else is literal.
 */
function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const segmentStart = i === 0 || glob[i - 1] === '/';
      const segmentEnd = i + 2 === glob.length || glob[i + 2] === '/';
      if (segmentStart && segmentEnd) {
        if (i + 2 === glob.length) out += '.*';
        else {
          out += '(?:.*/)?';
          i++; // the '/' after '**' is part of the group
        }
        i++;
        continue;
      }
      out += '[^/]*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Whether `path` matches `glob` (see {@link globToRegExp}); backslashes and a leading `./` are ignored. */
export function matchGlob(glob: string, path: string): boolean {
  let re = compiled.get(glob);
  if (!re) {
    re = globToRegExp(normalizePath(glob));
    if (compiled.size > 1000) compiled.clear();
    compiled.set(glob, re);
  }
  return re.test(normalizePath(path));
}

// The same few globs are matched against every object of a large bundle.
const compiled = new Map<string, RegExp>();

export function normalizePath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^(?:\.\/)+/, '');
}
