/** Strict validation of one object against the target Kubernetes version. */
import type { CustomResources } from './crds';
import { apiServerRules } from './api-server-rules';
import { apiChangeFor } from './deprecations';
import { isNamespaceName, nameProblem } from './k8s-rules';
import type { KubernetesSchemas } from './schemas';
import { Validation } from './schema-validator';
import { isRecord, type KubeObject, objectRef } from '@kubeline/k8s';
import { type Finding } from './types';

export type UnknownKinds = 'error' | 'warning' | 'skip';

export interface ValidateOptions {
  schemas: KubernetesSchemas;
  crds: CustomResources;
  /** What to do with a kind that has neither a built-in schema nor a CRD. */
  unknownKinds: UnknownKinds;
  /** Severity of APIs deprecated (not yet removed) in the target version. */
  deprecatedApis: 'error' | 'warning';
  /** Schemas of older bundled versions: a kind they serve and the target lacks was removed. */
  olderSchemas: readonly KubernetesSchemas[];
  /** Bound on the nodes walked in one object (alias expansion). */
  maxNodes?: number;
}

/**
 * Validates one object strictly against the target Kubernetes version: the shape every object
 * needs, removed and deprecated APIs, the built-in OpenAPI schema or the CRD schema, and the API
 * server's syntax rules for names, labels and quantities.
 */
export function validateObject(object: KubeObject, options: ValidateOptions): Finding[] {
  const ref = objectRef(object);
  const findings: Finding[] = [];
  const error = (rule: string, message: string, fix: string, path: (string | number)[] = []) =>
    findings.push({ rule, severity: 'error', message, fix, path, object: ref });

  const { apiVersion, kind } = ref;
  if (typeof object.apiVersion !== 'string' || !object.apiVersion) error('schema/missing-field', 'apiVersion is missing', 'Add `apiVersion:` (for example apps/v1).');
  if (typeof object.kind !== 'string' || !object.kind) error('schema/missing-field', 'kind is missing', 'Add `kind:` (for example Deployment).');
  if (findings.length) return findings;

  const metadata = isRecord(object.metadata) ? object.metadata : undefined;
  if (!metadata || (typeof metadata.name !== 'string' && typeof metadata.generateName !== 'string')) {
    error('schema/missing-field', 'metadata.name is missing', 'Add `metadata: { name: ... }`.', metadata ? ['metadata'] : []);
  } else if (typeof metadata.name === 'string') {
    const problem = nameProblem(kind, metadata.name);
    if (problem) error('k8s/invalid-name', `name "${metadata.name}" ${problem.problem}`, problem.fix, ['metadata', 'name']);
  }
  if (metadata && typeof metadata.namespace === 'string' && !isNamespaceName(metadata.namespace))
    error('k8s/invalid-name', `namespace "${metadata.namespace}" must be a DNS-1123 label`, 'Use lowercase letters, digits and "-", at most 63 characters.', ['metadata', 'namespace']);

  const { schemas, crds } = options;
  const change = apiChangeFor(apiVersion, kind, schemas.minor);
  const builtIn = schemas.checkFor(apiVersion, kind);
  if (!builtIn) {
    const removed = removal(apiVersion, kind, options);
    if (removed) {
      findings.push({ rule: 'api/removed', severity: 'error', object: ref, path: ['apiVersion'], ...removed });
      return findings;
    }
  } else if (change && !change.removed) {
    const { replacement, note } = change.change;
    findings.push({
      rule: 'api/deprecated',
      severity: options.deprecatedApis,
      object: ref,
      path: ['apiVersion'],
      message: `${apiVersion} ${kind} is deprecated since Kubernetes ${change.change.deprecatedIn}${note ? ` (${note})` : ''}`,
      fix: replacement ? `Use apiVersion ${replacement}.` : 'Plan its replacement.',
    });
  }

  const v = new Validation(options.maxNodes);
  if (builtIn) {
    builtIn(object, v);
    for (const found of apiServerRules(object)) findings.push({ ...found, object: ref });
  } else {
    const custom = crds.validate(object, options.maxNodes ?? 1_000_000);
    if (custom) {
      v.findings.push(...custom.findings);
      if (custom.deprecated) findings.push({ rule: 'api/deprecated', severity: options.deprecatedApis, object: ref, path: ['apiVersion'], message: custom.deprecated, fix: 'Use a newer served version of this custom resource.' });
    } else if (options.unknownKinds !== 'skip') {
      findings.push({ rule: 'schema/unknown-kind', severity: options.unknownKinds, object: ref, path: ['kind'], ...unknownKind(apiVersion, kind, options) });
    }
  }
  if (v.visited > v.maxNodes)
    error('yaml/too-large', `the object expands to more than ${v.maxNodes} nodes (aliases?)`, 'Write the object out without YAML aliases.');
  for (const finding of v.findings) findings.push({ ...finding, object: ref });
  return findings;
}

function removal(apiVersion: string, kind: string, options: ValidateOptions): Pick<Finding, 'message' | 'fix'> | undefined {
  const target = options.schemas.minor;
  const change = apiChangeFor(apiVersion, kind, target);
  if (change?.removed) {
    const { replacement, removedIn, note } = change.change;
    return {
      message: `${apiVersion} ${kind} was removed in Kubernetes ${removedIn}; the target is ${target}`,
      fix: replacement ? `Use apiVersion ${replacement}${note ? ` (${note})` : ''}.` : `${note ?? 'It has no replacement'}.`,
    };
  }
  // Removed within the bundled versions: an older one serves it, the target does not.
  const older = options.olderSchemas.find((s) => s.has(apiVersion, kind));
  if (older && !options.crds.has(apiVersion, kind)) {
    const others = options.schemas.apiVersionsOf(kind);
    return {
      message: `${apiVersion} ${kind} is served by Kubernetes ${older.minor} but not by ${target}`,
      fix: others.length ? `Use apiVersion ${others.join(' or ')}.` : `Target Kubernetes ${older.minor}, or drop it.`,
    };
  }
  return undefined;
}

function unknownKind(apiVersion: string, kind: string, options: ValidateOptions): Pick<Finding, 'message' | 'fix'> {
  const { schemas, crds } = options;
  const elsewhere = [...schemas.apiVersionsOf(kind), ...crds.apiVersionsOf(kind)];
  if (elsewhere.length)
    return { message: `${kind} is not served as ${apiVersion} (Kubernetes ${schemas.minor})`, fix: `Use apiVersion ${elsewhere.join(' or ')}.` };
  if (schemas.servesGroupVersion(apiVersion)) {
    const kinds = schemas.kindsOf(apiVersion).filter((k) => !k.endsWith('List'));
    const close = kinds.find((k) => k.toLowerCase() === kind.toLowerCase());
    return { message: `${apiVersion} has no kind ${kind}`, fix: close ? `Did you mean ${close}? Kinds are case-sensitive.` : `Kinds of ${apiVersion}: ${kinds.slice(0, 15).join(', ')}.` };
  }
  return {
    message: `no schema for ${apiVersion} ${kind}: not a built-in type of Kubernetes ${schemas.minor}, and no CRD for it in the bundle or in \`crds\``,
    fix: 'Add its CustomResourceDefinition file to the `crds` input, or set `unknown-kinds: warning` (or skip).',
  };
}
