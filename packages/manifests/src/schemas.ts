/** The bundled schema store of Kubernetes OpenAPI v3 documents, by minor version. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';
import { ConfigurationError } from '@kubeline/toolkit';
import { EXTRA_CHECKS } from './k8s-rules';
import { type Check, compileSchema, type JsonSchema } from './schema-validator';

/** The bundled schema store written by scripts/schemas.mjs from Kubernetes' own OpenAPI v3 documents. */
interface Store {
  format: 1;
  versions: Record<string, { module: string; kinds: Record<string, string>; defs: Record<string, number> }>;
  schemas: JsonSchema[];
}

const STORE_FILE = 'kubernetes.json.br';

/** Where the store is: next to the bundle in dist/, or in the package when run from source. */
function storePath(): string {
  const override = process.env.KUBELINE_SCHEMA_STORE;
  if (override) return override;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, STORE_FILE), join(here, '..', 'schemas', STORE_FILE)];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new Error(`the Kubernetes schema store is missing (looked in ${candidates.join(', ')}); rebuild with \`npm run build\``);
  return found;
}

let store: Store | undefined;
function loadStore(): Store {
  store ??= JSON.parse(brotliDecompressSync(readFileSync(storePath())).toString('utf8')) as Store;
  return store;
}

/** Kubernetes minor versions with bundled schemas, newest first: ['1.37', '1.36', …]. */
export function bundledVersions(): string[] {
  return Object.keys(loadStore().versions).sort(compareVersions).reverse();
}

export function compareVersions(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

/**
 * The bundled minor for a `kubernetes-version` input: `1.36`, `v1.36`, `1.36.4` all select 1.36;
 * empty selects the newest.
 */
export function resolveKubernetesVersion(input: string): string {
  const versions = bundledVersions();
  if (!input.trim()) return versions[0];
  const match = /^v?(\d+)\.(\d+)(?:\.\d+)?$/.exec(input.trim());
  const minor = match ? `${Number(match[1])}.${Number(match[2])}` : undefined;
  if (!minor || !versions.includes(minor))
    throw new ConfigurationError(
      `kubernetes-version: "${input}" has no bundled schemas. Bundled: ${versions.join(', ')}. Use one of them (a patch version like ${versions[0]}.0 is fine).`,
    );
  return minor;
}

/** The schemas of one Kubernetes version, compiled on first use. */
export class KubernetesSchemas {
  private readonly compiled = new Map<string, Check>();
  private readonly version: Store['versions'][string];
  private readonly groupVersions: Set<string>;

  constructor(readonly minor: string) {
    const found = loadStore().versions[minor];
    if (!found) throw new ConfigurationError(`kubernetes-version: no bundled schemas for ${minor}`);
    this.version = found;
    this.groupVersions = new Set(Object.keys(found.kinds).map((key) => key.slice(0, key.lastIndexOf('/'))));
  }

  /** The Go module version the schemas were taken from, e.g. v1.37.2. */
  get source(): string {
    return this.version.module;
  }

  /** Whether `apiVersion/kind` is a built-in type of this version. */
  has(apiVersion: string, kind: string): boolean {
    return `${apiVersion}/${kind}` in this.version.kinds;
  }

  /** Whether the group/version is served at all (e.g. `apps/v1`). */
  servesGroupVersion(apiVersion: string): boolean {
    return this.groupVersions.has(apiVersion);
  }

  /** Kinds served under an apiVersion, for "did you mean" messages. */
  kindsOf(apiVersion: string): string[] {
    const prefix = `${apiVersion}/`;
    return Object.keys(this.version.kinds)
      .filter((key) => key.startsWith(prefix) && !key.slice(prefix.length).includes('/'))
      .map((key) => key.slice(prefix.length));
  }

  /** apiVersions that serve a kind (for a kind under the wrong group). */
  apiVersionsOf(kind: string): string[] {
    return Object.keys(this.version.kinds)
      .filter((key) => key.endsWith(`/${kind}`))
      .map((key) => key.slice(0, -kind.length - 1));
  }

  /** The check for a built-in kind, or undefined when this version does not serve it. */
  checkFor(apiVersion: string, kind: string): Check | undefined {
    const def = this.version.kinds[`${apiVersion}/${kind}`];
    return def ? this.definition(def) : undefined;
  }

  /** The check for a named definition (`io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`). */
  definition(name: string): Check | undefined {
    const cached = this.compiled.get(name);
    if (cached) return cached;
    const index = this.version.defs[name];
    if (index === undefined) return undefined;
    // Registered before compiling: definitions refer to themselves (JSONSchemaProps).
    let check: Check | undefined;
    this.compiled.set(name, (value, v) => check!(value, v));
    const schemaCheck = compileSchema(loadStore().schemas[index], { resolve: (ref) => this.definition(ref) });
    // What the OpenAPI document cannot say but the API server checks: quantity syntax, label syntax.
    const extra = EXTRA_CHECKS[name];
    check = extra
      ? (value, v) => {
          schemaCheck(value, v);
          extra(value, v);
        }
      : schemaCheck;
    this.compiled.set(name, check);
    return check;
  }
}
