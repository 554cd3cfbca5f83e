// Fuzzing the parse-and-validate path: generated Kubernetes-shaped YAML, mutated at random, must
// always give findings or a clean pass — never an exception — and what the bundle writer makes
// of each object must read back to the same object.
import { Document, isCollection, visit } from 'yaml';
import { CustomResources } from '../src/crds';
import { parseYamlStream, toYaml } from '@kubeline/k8s';
import { checkPolicies, DEFAULT_POLICY } from '../src/policies';
import { KubernetesSchemas } from '../src/schemas';
import type { Manifest } from '../src/types';
import { validateObject } from '../src/validate';
import { rng } from '../../../test/support/random';

const deployment = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { 'app.kubernetes.io/name': name } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [
          {
            name,
            image: `ghcr.io/acme/${name}:1.0`,
            ports: [{ containerPort: 8080, name: 'http' }],
            env: [{ name: 'MODE', value: 'on' }],
            resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
            readinessProbe: { httpGet: { path: '/', port: 'http' } },
          },
        ],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      },
    },
  },
});
const service = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 'http' }] } });
const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { 'app.conf': 'a = 1\nb = "two"\n', flag: 'yes' } });

const JUNK: unknown[] = ['', 'x', 'yes', '0755', -1, 1.5, 1e21, true, null, [], {}, [1, 'a'], { a: { b: null } }, '100MB', '1:20', 'a\nb', '\u0000', '∞'];

/** YAML 1.1 text for a value (what YAML 1.1 reads otherwise quoted), collections `flowLevel` deep and deeper in flow style. */
function write(value: unknown, flowLevel: number): string {
  const doc = new Document(value, { version: '1.1' });
  if (flowLevel >= 0)
    visit(doc, {
      Collection(_key, node, path) {
        if (path.filter((p) => isCollection(p)).length >= flowLevel) node.flow = true;
      },
    });
  return doc.toString();
}

/** Replaces, removes or adds a value at a random place in the object. */
function mutate(value: unknown, r: () => number, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 8) return r() < 0.5 ? JUNK[Math.floor(r() * JUNK.length)] : value;
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  if (entries.length === 0 || r() < 0.15) {
    if (Array.isArray(value)) return [...value, JUNK[Math.floor(r() * JUNK.length)]];
    return { ...(value as object), [`typo${Math.floor(r() * 9)}`]: JUNK[Math.floor(r() * JUNK.length)] };
  }
  const [key, child] = entries[Math.floor(r() * entries.length)];
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  if (r() < 0.1) delete copy[key];
  else copy[key] = mutate(child, r, depth + 1);
  return copy;
}

/** Text-level damage: what a careless edit does to YAML. */
function damage(text: string, r: () => number): string {
  const lines = text.split('\n');
  const i = Math.floor(r() * lines.length);
  switch (Math.floor(r() * 6)) {
    case 0:
      lines[i] = ` ${lines[i]}`;
      break;
    case 1:
      lines.splice(i, 0, lines[i]);
      break;
    case 2:
      lines[i] = lines[i].replace(':', '');
      break;
    case 3:
      lines[i] = `${lines[i]} &x`;
      break;
    case 4:
      lines.splice(i, 1);
      break;
    default:
      lines[i] = `${lines[i]}\t# "quoted`;
  }
  return lines.join('\n');
}

const schemas = new KubernetesSchemas('1.37');
const options = { schemas, crds: new CustomResources(schemas), unknownKinds: 'error' as const, deprecatedApis: 'warning' as const, olderSchemas: [] };

describe('fuzzing parse and validate', () => {
  test('3,000 generated streams: findings or a clean pass, never an exception; the writer round-trips', () => {
    let withFindings = 0;
    let clean = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const r = rng(seed);
      const objects = [deployment(`app${seed}`), service(`app${seed}`), configMap(`cfg${seed}`)].map((o) => (r() < 0.7 ? mutate(o, r) : o));
      let text = objects.map((o) => write(o, r() < 0.2 ? 3 : -1)).join('---\n');
      if (r() < 0.3) text = damage(text, r);
      const context = `seed ${seed}:\n${text}`;
      try {
        const documents = parseYamlStream(text);
        const manifests: Manifest[] = [];
        for (const doc of documents) {
          if (doc.error) {
            withFindings++;
            continue;
          }
          if (doc.value === undefined) continue;
          expect(parseYamlStream(toYaml(doc.value))[0].value).toEqual(doc.value);
          if (typeof doc.value !== 'object' || doc.value === null || Array.isArray(doc.value)) {
            withFindings++;
            continue;
          }
          const object = doc.value as Record<string, unknown>;
          manifests.push({ object, origin: { file: 'fuzz.yaml', document: doc.index } });
          if (validateObject(object, options).length) withFindings++;
          else clean++;
        }
        checkPolicies(manifests, DEFAULT_POLICY);
      } catch (error) {
        throw new Error(`${context}\n→ ${error instanceof Error ? error.stack : String(error)}`);
      }
    }
    // Both outcomes happen: the generator makes valid and invalid objects.
    expect(withFindings).toBeGreaterThan(1000);
    expect(clean).toBeGreaterThan(1000);
  });

  test('every typo of a known field is an error on that field', () => {
    const object = deployment('web') as Record<string, any>;
    object.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    const findings = validateObject(object, options);
    expect(findings).toContainEqual(expect.objectContaining({ rule: 'schema/unknown-field', severity: 'error', path: ['spec', 'template', 'spec', 'containers', 0, 'imagePullPolicyy'] }));
  });
});
