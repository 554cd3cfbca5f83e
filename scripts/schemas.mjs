#!/usr/bin/env node
// Kubernetes schema store for offline manifest validation.
//
//   node scripts/schemas.mjs                    regenerate packages/manifests/schemas/kubernetes.json.br from the
//                                               k8s.io/kubernetes Go modules (api/openapi-spec/v3/*.json)
//   node scripts/schemas.mjs --check            regenerate in memory; fail if the committed store's JSON differs
//   node scripts/schemas.mjs --kubeconform DIR  write kubeconform schemas from the committed store:
//                                               DIR/v<X.Y.Z>-standalone-strict/<kind><kind suffix>.json
//
// The store (brotli JSON) is
//   { format: 1,
//     versions: { "<minor>": { module, kinds: { "<apiVersion>/<Kind>": <definition>, ... },
//                              defs: { <definition>: <index into schemas>, ... } }, ... },
//     schemas: [ <normalized schema>, ... ] }
// A normalized schema keeps only what decides validity (no descriptions, defaults, list/map/patch
// annotations), refers to other definitions as { "$ref": "<definition>" } (resolved in the same version's
// defs), and has sorted keys; identical schemas are stored once across definitions and versions.
// IntOrString's { format: "int-or-string", oneOf: [integer, string] } is stored as
// { "x-kubernetes-int-or-string": true }, the form CRD schemas use.
//
// Needs only Node built-ins, and `go` for the module downloads (Go module proxy).

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, brotliDecompressSync, constants as zlib } from "node:zlib";

// The four newest Kubernetes minors, each at the newest patch the module proxy serves and the checksum
// database knows (v1.37.2's zip, v1.36.5 and v1.34.11-12 are listed by the proxy but cannot be downloaded).
export const KUBERNETES_MODULES = ["v1.37.1", "v1.36.4", "v1.35.8", "v1.34.10"];

const FORMAT = 1;
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const STORE = join(REPO, "packages/manifests/schemas/kubernetes.json.br");
const REF_PREFIX = "#/components/schemas/";

// Keywords that decide what validates; everything else (description, default, example, title,
// x-kubernetes-list-*, -map-type, -patch-*, -group-version-kind, -unions, -validations, ...) is dropped.
const KEEP = new Set([
  "$ref", "type", "format", "enum", "nullable",
  "properties", "additionalProperties", "required", "minProperties", "maxProperties",
  "items", "minItems", "maxItems", "uniqueItems",
  "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
  "pattern", "minLength", "maxLength",
  "oneOf", "anyOf", "allOf", "not",
  "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource",
]);
// Dropped on purpose (annotations): not reported as unknown.
const ANNOTATIONS = new Set(["description", "default", "example", "title", "externalDocs", "readOnly", "writeOnly", "deprecated"]);

const log = (msg) => process.stderr.write(`[schemas] ${msg}\n`);
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;

// ---------------------------------------------------------------------------------------------
// normalizing

/** JSON with object keys sorted, so equal schemas give equal strings. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  }
  return value;
}

function refName(ref, where) {
  if (typeof ref !== "string" || !ref.startsWith(REF_PREFIX)) throw new Error(`${where}: unexpected $ref ${ref}`);
  return ref.slice(REF_PREFIX.length);
}

/** @param dropped Map of dropped keyword -> count (unknown ones are reported). */
function normalize(schema, where, dropped) {
  if (typeof schema === "boolean") return schema;
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) throw new Error(`${where}: not a schema`);
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!KEEP.has(key)) {
      if (!ANNOTATIONS.has(key) && !key.startsWith("x-kubernetes-")) dropped.set(key, (dropped.get(key) ?? 0) + 1);
      continue;
    }
    switch (key) {
      case "$ref": out.$ref = refName(value, where); break;
      case "properties":
        out.properties = Object.fromEntries(
          Object.entries(value).map(([name, s]) => [name, normalize(s, `${where}.${name}`, dropped)]),
        );
        break;
      case "additionalProperties": case "items": case "not":
        out[key] = normalize(value, `${where}/${key}`, dropped);
        break;
      case "oneOf": case "anyOf": case "allOf":
        out[key] = value.map((s, i) => normalize(s, `${where}/${key}/${i}`, dropped));
        break;
      default: out[key] = value;
    }
  }
  // { allOf: [{ $ref }] } with only annotations beside it: the way OpenAPI v3 puts a description on a ref
  const keys = Object.keys(out);
  if (keys.length === 1 && out.allOf?.length === 1 && Object.keys(out.allOf[0]).length === 1 && out.allOf[0].$ref) {
    return { $ref: out.allOf[0].$ref };
  }
  if (
    out.format === "int-or-string" && keys.length === 2 && out.oneOf?.length === 2
    && out.oneOf.every((s) => Object.keys(s).length === 1) && out.oneOf.map((s) => s.type).sort().join() === "integer,string"
  ) {
    return { "x-kubernetes-int-or-string": true };
  }
  return out;
}

function gvkKey({ group, version, kind }) {
  return `${group ? `${group}/` : ""}${version}/${kind}`;
}

function moduleDir(version) {
  const out = execFileSync("go", ["mod", "download", "-json", `k8s.io/kubernetes@${version}`], {
    cwd: REPO, encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod" }, maxBuffer: 1 << 20,
  });
  const info = JSON.parse(out);
  if (info.Error || !info.Dir) throw new Error(`go mod download k8s.io/kubernetes@${version}: ${info.Error ?? "no Dir"}`);
  return info.Dir;
}

/** Reads one Kubernetes version's OpenAPI v3 documents: its kinds and normalized definitions. */
function readVersion(module, dropped) {
  const dir = join(moduleDir(module), "api/openapi-spec/v3");
  const kinds = new Map();
  const defs = new Map(); // name -> canonical normalized schema
  const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  for (const file of files) {
    const doc = JSON.parse(readFileSync(join(dir, file), "utf8"));
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
      for (const gvk of schema["x-kubernetes-group-version-kind"] ?? []) {
        const key = gvkKey(gvk);
        if (kinds.has(key) && kinds.get(key) !== name) {
          throw new Error(`${module}: ${key} is both ${kinds.get(key)} and ${name}`);
        }
        kinds.set(key, name);
      }
      // the same definition appears in many files; only its GVK list may differ (dropped here)
      const text = canonical(normalize(schema, `${module} ${name}`, dropped));
      if (defs.has(name) && defs.get(name) !== text) throw new Error(`${module}: ${name} differs between files (${file})`);
      defs.set(name, text);
    }
  }
  for (const [key, name] of kinds) if (!defs.has(name)) throw new Error(`${module}: ${key} names a missing ${name}`);
  return { files: files.length, kinds, defs };
}

function minorOf(module) {
  const m = /^v(\d+)\.(\d+)\.\d+$/.exec(module);
  if (!m) throw new Error(`not a release version: ${module}`);
  return `${m[1]}.${m[2]}`;
}

function generate() {
  const dropped = new Map();
  const index = new Map(); // canonical text -> index
  const schemas = [];
  const versions = {};
  const seenKinds = new Map(); // kind key -> minors
  const sorted = [...KUBERNETES_MODULES].sort((a, b) => minorOf(b).localeCompare(minorOf(a), "en", { numeric: true }));
  for (const module of sorted) {
    const t0 = Date.now();
    const { files, kinds, defs } = readVersion(module, dropped);
    const defIndex = {};
    for (const name of [...defs.keys()].sort()) {
      const text = defs.get(name);
      if (!index.has(text)) {
        index.set(text, schemas.length);
        schemas.push(JSON.parse(text));
      }
      defIndex[name] = index.get(text);
    }
    const kindMap = Object.fromEntries([...kinds].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const key of Object.keys(kindMap)) seenKinds.set(key, [...(seenKinds.get(key) ?? []), minorOf(module)]);
    versions[minorOf(module)] = { module, kinds: kindMap, defs: defIndex };
    const withGvk = new Set(kinds.values()).size;
    log(`${module}: ${files} OpenAPI files, ${defs.size} definitions (${withGvk} with a GVK, ${defs.size - withGvk} without), ${kinds.size} kinds, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const unknown = [...dropped].filter(([k]) => !k.startsWith("x-"));
  if (unknown.length) log(`dropped keywords that are not known annotations: ${unknown.map(([k, n]) => `${k} (${n})`).join(", ")}`);
  // DeleteOptions and WatchEvent carry a GVK for every group-version the scheme knows, served or not
  const partial = [...seenKinds].filter(([, minors]) => minors.length < sorted.length);
  const meta = partial.filter(([key]) => /\/(DeleteOptions|WatchEvent)$/.test(key));
  if (partial.length) {
    log(`${partial.length} kinds are not in every version (${meta.length} of them DeleteOptions or WatchEvent):`);
    for (const [key, minors] of partial) if (!meta.some(([k]) => k === key)) log(`  ${key}: ${minors.join(", ")}`);
  }
  const json = JSON.stringify({ format: FORMAT, versions, schemas });
  const definitions = Object.values(versions).reduce((n, v) => n + Object.keys(v.defs).length, 0);
  log(`${definitions} definitions in ${sorted.length} versions -> ${schemas.length} distinct schemas`);
  return json;
}

function compress(json) {
  return brotliCompressSync(Buffer.from(json), {
    params: {
      [zlib.BROTLI_PARAM_QUALITY]: 11,
      [zlib.BROTLI_PARAM_LGWIN]: 24,
      [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT,
      [zlib.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(json),
    },
  });
}

/** Reads the committed store. */
export function readStore(file = STORE) {
  const store = JSON.parse(brotliDecompressSync(readFileSync(file)).toString("utf8"));
  if (store.format !== FORMAT) throw new Error(`${file}: format ${store.format}, expected ${FORMAT}`);
  return store;
}

// ---------------------------------------------------------------------------------------------
// kubeconform schemas: standalone JSON Schema (draft 4) files as kubeconform's schema-location
// template `{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`
// expects: v<X.Y.Z>-standalone-strict/<kind>-<first label of group>-<version>.json, or <kind>-<version>.json
// for the core group, all lower case (kubeconform pkg/registry schemaPath).
// Each file holds the kind's schema at the root and every definition it reaches under `definitions`,
// made strict as openapi2jsonschema --strict --kubernetes makes them: additionalProperties: false on
// objects with properties (unless they keep unknown fields), int-or-string as oneOf [string, integer],
// and null accepted where the API server accepts it: `nullable: true`, and fields that are not required.

export function kubeconformFileName(apiVersion, kind) {
  const [groupOrVersion, version] = apiVersion.split("/");
  let suffix = `-${groupOrVersion.split(".")[0].toLowerCase()}`;
  if (version !== undefined) suffix += `-${version.toLowerCase()}`;
  return `${kind.toLowerCase()}${suffix}.json`;
}

const NULLABLE = "nullable.";
const localRef = (name) => `#/definitions/${name}`;

function withNull(schema) {
  if (schema === true || (schema && Object.keys(schema).length === 0)) return schema;
  if (schema.$ref) return { $ref: schema.$ref.startsWith(`#/definitions/${NULLABLE}`) ? schema.$ref : localRef(NULLABLE + schema.$ref.slice("#/definitions/".length)) };
  if (typeof schema.type === "string") return { ...schema, type: [schema.type, "null"] };
  if (Array.isArray(schema.type)) return schema.type.includes("null") ? schema : { ...schema, type: [...schema.type, "null"] };
  if (schema.oneOf && Object.keys(schema).length === 1) return { oneOf: [...schema.oneOf, { type: "null" }] };
  if (schema.anyOf && Object.keys(schema).length === 1) return { anyOf: [...schema.anyOf, { type: "null" }] };
  return { anyOf: [schema, { type: "null" }] };
}

/** One normalized schema as strict draft-4 JSON Schema; refs become local refs, collected in `refs`. */
function toJsonSchema(schema, refs) {
  if (typeof schema === "boolean") return schema;
  if (schema.$ref) {
    refs.add(schema.$ref);
    return { $ref: localRef(schema.$ref) };
  }
  let out = {};
  for (const [key, value] of Object.entries(schema)) {
    switch (key) {
      case "properties": {
        const required = new Set(schema.required ?? []);
        out.properties = Object.fromEntries(Object.entries(value).map(([name, s]) => {
          const converted = toJsonSchema(s, refs);
          return [name, required.has(name) ? converted : withNull(converted)];
        }));
        break;
      }
      case "additionalProperties": case "items": case "not":
        out[key] = toJsonSchema(value, refs);
        break;
      case "oneOf": case "anyOf": case "allOf":
        out[key] = value.map((s) => toJsonSchema(s, refs));
        break;
      case "nullable": case "x-kubernetes-int-or-string": case "x-kubernetes-preserve-unknown-fields": case "x-kubernetes-embedded-resource":
        break;
      default: out[key] = value;
    }
  }
  if (schema["x-kubernetes-int-or-string"]) {
    delete out.type;
    const intOrString = { oneOf: [{ type: "string" }, { type: "integer" }] };
    out = Object.keys(out).length ? { allOf: [out, intOrString] } : intOrString;
  }
  if (out.properties && !("additionalProperties" in out) && !schema["x-kubernetes-preserve-unknown-fields"]) {
    out.additionalProperties = false;
  }
  if (schema.nullable) out = withNull(out);
  return out;
}

function writeKubeconform(dir) {
  const t0 = Date.now();
  const store = readStore();
  let files = 0;
  let bytes = 0;
  mkdirSync(dir, { recursive: true });
  for (const { module, kinds, defs } of Object.values(store.versions)) {
    const out = join(dir, `${module}-standalone-strict`);
    const tmp = `${out}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    const converted = new Map(); // definition -> { schema, refs }
    const convert = (name) => {
      if (!converted.has(name)) {
        if (!(name in defs)) throw new Error(`${module}: no definition ${name}`);
        const refs = new Set();
        const schema = toJsonSchema(store.schemas[defs[name]], refs);
        converted.set(name, { schema, refs });
      }
      return converted.get(name);
    };
    const written = new Map(); // file name -> kind key
    for (const [key, name] of Object.entries(kinds)) {
      const slash = key.lastIndexOf("/");
      const file = kubeconformFileName(key.slice(0, slash), key.slice(slash + 1));
      if (written.has(file)) throw new Error(`${module}: ${key} and ${written.get(file)} both map to ${file}`);
      written.set(file, key);
      // every definition reachable from the kind, plus the nullable variants its optional fields use
      const definitions = {};
      const todo = [...convert(name).refs];
      const seen = new Set(todo);
      while (todo.length) {
        const ref = todo.pop();
        const { schema, refs } = convert(ref);
        definitions[ref] = schema;
        definitions[NULLABLE + ref] = withNull(schema);
        for (const r of refs) if (!seen.has(r)) { seen.add(r); todo.push(r); }
      }
      const root = {
        $schema: "http://json-schema.org/draft-04/schema#",
        ...convert(name).schema,
        ...(seen.size ? { definitions: sortKeys(definitions) } : {}),
      };
      const text = JSON.stringify(root);
      writeFileSync(join(tmp, file), text);
      files++;
      bytes += text.length;
    }
    rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
  }
  log(`kubeconform schemas: ${files} files, ${(bytes / 1048576).toFixed(1)} MiB in ${dir} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

// ---------------------------------------------------------------------------------------------

function main(args) {
  if (args[0] === "--kubeconform") {
    if (!args[1] || args.length > 2) throw new Error("usage: node scripts/schemas.mjs --kubeconform DIR");
    writeKubeconform(resolve(args[1]));
    return 0;
  }
  if (args.length > 1 || (args[0] && args[0] !== "--check")) {
    throw new Error("usage: node scripts/schemas.mjs [--check | --kubeconform DIR]");
  }
  const t0 = Date.now();
  const json = generate();
  const br = compress(json);
  const sha = createHash("sha256").update(br).digest("hex").slice(0, 16);
  log(`raw JSON ${kib(json.length)}, brotli ${kib(br.length)} (sha256 ${sha}), ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (args[0] === "--check") {
    // compares the JSON, not the bytes: another brotli version may compress the same JSON differently
    let committed = "";
    try { committed = brotliDecompressSync(readFileSync(STORE)).toString("utf8"); } catch { /* missing: differs */ }
    if (committed !== json) {
      log(`${STORE} is not what scripts/schemas.mjs makes: run npm run schemas and commit it`);
      return 1;
    }
    log(`${STORE} is up to date`);
    return 0;
  }
  mkdirSync(dirname(STORE), { recursive: true });
  writeFileSync(`${STORE}.tmp`, br);
  renameSync(`${STORE}.tmp`, STORE);
  log(`wrote ${STORE}`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    log(`ERROR: ${err.message}`);
    process.exitCode = 1;
  }
}
