/** Custom resource kinds from the CRDs in the bundle and the `crds` files, checked by structural-schema rules. */
import type { KubernetesSchemas } from './schemas';
import { type Check, compileSchema, type JsonSchema, Validation } from './schema-validator';
import { isRecord, type KubeObject, objectRef } from '@kubeline/k8s';
import { type Finding } from './types';

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

interface ServedVersion {
  check: Check;
  schema: JsonSchema;
  /** CEL rules (`x-kubernetes-validations`) in the schema: not evaluated here. */
  celRules: number;
  deprecated?: string;
}

/** How many CEL rules (`x-kubernetes-validations` entries) a schema holds, at any depth. */
function countCelRules(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, item) => n + countCelRules(item), 0);
  if (!isRecord(value)) return 0;
  let n = 0;
  for (const [key, item] of Object.entries(value)) n += key === 'x-kubernetes-validations' && Array.isArray(item) ? item.length : countCelRules(item);
  return n;
}

/** Custom resource kinds known from CRDs in the bundle and in the `crds` files. */
export class CustomResources {
  private readonly served = new Map<string, ServedVersion>();
  private readonly kinds = new Map<string, string[]>(); // kind → apiVersions with a CRD

  constructor(private readonly schemas: KubernetesSchemas) {}

  /** Whether a manifest is a CustomResourceDefinition (v1). */
  static isCrd(object: KubeObject): boolean {
    return object.kind === 'CustomResourceDefinition' && object.apiVersion === 'apiextensions.k8s.io/v1';
  }

  /** Learns the served versions of a CRD (its own shape is checked like any object's). */
  add(crd: KubeObject): void {
    const spec = isRecord(crd.spec) ? crd.spec : {};
    const names = isRecord(spec.names) ? spec.names : {};
    const group = typeof spec.group === 'string' ? spec.group : '';
    const kind = typeof names.kind === 'string' ? names.kind : '';
    if (!group || !kind || !Array.isArray(spec.versions)) return;
    const preserveAll = spec.preserveUnknownFields === true;
    for (const version of spec.versions) {
      if (!isRecord(version) || typeof version.name !== 'string' || version.served === false) continue;
      const apiVersion = `${group}/${version.name}`;
      const validation = isRecord(version.schema) ? version.schema.openAPIV3Schema : undefined;
      const schema = (isRecord(validation) ? validation : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }) as JsonSchema;
      const check = this.compileRoot(schema, preserveAll);
      this.served.set(`${apiVersion}/${kind}`, {
        check,
        schema,
        celRules: countCelRules(schema),
        deprecated: version.deprecated === true ? (typeof version.deprecationWarning === 'string' ? version.deprecationWarning : `${apiVersion} ${kind} is deprecated`) : undefined,
      });
      this.kinds.set(kind, [...(this.kinds.get(kind) ?? []), apiVersion]);
    }
  }

  /** apiVersion, kind and metadata are implicit in every custom resource; metadata is ObjectMeta. */
  private compileRoot(schema: JsonSchema, preserveAll: boolean): Check {
    const properties = { ...(schema.properties ?? {}) };
    properties.apiVersion = { type: 'string' };
    properties.kind = { type: 'string' };
    properties.metadata = { $ref: OBJECT_META };
    const root: JsonSchema = { ...schema, properties, type: 'object' };
    if (preserveAll) root['x-kubernetes-preserve-unknown-fields'] = true;
    return compileSchema(root, { structural: true, resolve: (name) => this.schemas.definition(name) });
  }

  /**
   * Whether the field at `path` of a custom resource is a pod spec by its CRD's schema (an object
   * with `containers` whose items have an `image`, as a PodSpec or a PodTemplateSpec's spec is);
   * undefined when no CRD of the bundle or `crds` serves the kind.
   */
  embedsPodSpec(object: KubeObject, path: readonly (string | number)[]): boolean | undefined {
    const ref = objectRef(object);
    const served = this.served.get(`${ref.apiVersion}/${ref.kind}`);
    if (!served) return undefined;
    let schema: JsonSchema | undefined = served.schema;
    for (const part of path) {
      if (!schema) return false;
      if (typeof part === 'number') schema = schema.items;
      else schema = schema.properties?.[part] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    }
    const containers = schema?.properties?.containers;
    return containers?.items?.properties?.image !== undefined;
  }

  /** The CEL rules in the schema of an object's kind (0 for kinds without a CRD here). */
  celRules(object: KubeObject): number {
    const ref = objectRef(object);
    return this.served.get(`${ref.apiVersion}/${ref.kind}`)?.celRules ?? 0;
  }

  has(apiVersion: string, kind: string): boolean {
    return this.served.has(`${apiVersion}/${kind}`);
  }

  /** apiVersions served for a kind by the known CRDs. */
  apiVersionsOf(kind: string): string[] {
    return this.kinds.get(kind) ?? [];
  }

  validate(object: KubeObject, maxNodes: number): { findings: Finding[]; deprecated?: string } | undefined {
    const ref = objectRef(object);
    const served = this.served.get(`${ref.apiVersion}/${ref.kind}`);
    if (!served) return undefined;
    const v = new Validation(maxNodes);
    served.check(object, v);
    return { findings: v.findings, deprecated: served.deprecated };
  }
}
