/** The API server's own syntax rules that OpenAPI leaves out: names, label keys and values, quantities. */
import type { Check, Validation } from './schema-validator';
import { isRecord } from '@kubeline/k8s';

// The API server's own syntax rules (k8s.io/apimachinery/pkg/util/validation), which the
// OpenAPI documents leave out.
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
// resource.Quantity: a signed decimal number with an optional SI, binary or exponent suffix.
const QUANTITY = /^[+-]?(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

/** Why `key` is not a valid label or annotation key, or undefined when it is. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && (!prefix || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return 'its prefix (before "/") must be a lowercase DNS subdomain';
  if (!name) return 'the name part is empty';
  if (name.length > 63) return 'the name part is longer than 63 characters';
  if (!QUALIFIED_NAME.test(name)) return 'the name part must be alphanumeric, "-", "_" or ".", starting and ending with an alphanumeric';
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return 'is longer than 63 characters';
  if (!LABEL_VALUE.test(value)) return 'must be empty or alphanumeric, "-", "_" or ".", starting and ending with an alphanumeric';
  return undefined;
}

function checkKeyValueMap(map: unknown, v: Validation, field: 'labels' | 'annotations'): void {
  if (!isRecord(map)) return;
  let size = 0;
  for (const [key, value] of Object.entries(map)) {
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem) v.report('k8s/invalid-key', `${field} key "${key}" is invalid: ${keyProblem}`, 'Use a key like example.com/name or app.kubernetes.io/name.', [field, key]);
    if (field === 'labels' && typeof value === 'string') {
      const problem = labelValueProblem(value);
      if (problem) v.report('k8s/invalid-label-value', `label "${key}" value "${value.length > 40 ? `${value.slice(0, 40)}…` : value}" ${problem}`, 'Shorten it or move it to an annotation.', [field, key]);
    }
    if (field === 'annotations' && typeof value === 'string') size += key.length + value.length;
  }
  if (size > 256 * 1024) v.report('k8s/annotations-too-large', `annotations total ${size} bytes, over the 256 KiB limit`, 'Move large data to a ConfigMap.', [field]);
}

/** Extra checks attached to named OpenAPI definitions. */
export const EXTRA_CHECKS: Record<string, Check> = {
  'io.k8s.apimachinery.pkg.api.resource.Quantity': (value, v) => {
    if (typeof value === 'string' && !QUANTITY.test(value))
      v.report('k8s/invalid-quantity', `"${value}" is not a quantity`, 'Write a quantity like 500m, 0.5, 128Mi or 1Gi (no spaces, case matters: Mi not MB).');
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': (value, v) => {
    if (!isRecord(value)) return;
    checkKeyValueMap(value.labels, v, 'labels');
    checkKeyValueMap(value.annotations, v, 'annotations');
  },
};

// Names the API server checks as DNS-1123 labels (no dots) or DNS-1035 labels (start with a letter).
const LABEL_NAMED = new Set(['Namespace']);
const DNS1035_NAMED = new Set(['Service']);
// RBAC objects take path-segment names: `system:controller:x` is fine.
const PATH_SEGMENT_NAMED = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

/** Why an object's metadata.name is invalid for its kind, or undefined when it is valid. */
export function nameProblem(kind: string, name: string): { problem: string; fix: string } | undefined {
  if (PATH_SEGMENT_NAMED.has(kind)) {
    if (name === '.' || name === '..' || /[/%]/.test(name)) return { problem: 'may not be "." or ".." or contain "/" or "%"', fix: 'Rename it.' };
    return undefined;
  }
  const lower = 'Use lowercase letters, digits and "-"';
  if (DNS1035_NAMED.has(kind)) {
    if (name.length > 63 || !DNS1035_LABEL.test(name)) return { problem: 'must be a DNS-1035 label: at most 63 characters, lowercase letters, digits and "-", starting with a letter', fix: `${lower}, start with a letter.` };
    return undefined;
  }
  if (LABEL_NAMED.has(kind)) {
    if (name.length > 63 || !DNS1123_LABEL.test(name)) return { problem: 'must be a DNS-1123 label: at most 63 characters, lowercase letters, digits and "-"', fix: `${lower}.` };
    return undefined;
  }
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) return { problem: 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", at most 253 characters', fix: `${lower} and ".".` };
  return undefined;
}

/** Whether a namespace name is valid. */
export function isNamespaceName(name: string): boolean {
  return name.length <= 63 && DNS1123_LABEL.test(name);
}
