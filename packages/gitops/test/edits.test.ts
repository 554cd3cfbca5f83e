// The three file edits on tricky inputs: every byte outside the changed scalars stays, and a second run changes nothing.
import { ConfigurationError } from '@kubeline/toolkit';
import { editFile, type FileChange, splitKeyPath } from '../src/edits';

const OLD = 'sha256:' + 'a'.repeat(64);
const NEW = 'sha256:' + 'b'.repeat(64);

type Case = [string, string, FileChange, string];

const app: FileChange = { kind: 'kustomize-image', name: 'ghcr.io/acme/app' };

const kustomizeCases: Case[] = [
  [
    'a digest replaced; quoting, comments and odd indentation kept',
    `# production overlay
resources:
    - ../../base   # shared
images:
  - name: ghcr.io/acme/app    # the app
    digest: "${OLD}" # promoted by kubeline

  - name: redis
    newTag: "7.2"
`,
    app,
    `# production overlay
resources:
    - ../../base   # shared
images:
  - name: ghcr.io/acme/app    # the app
    digest: "${NEW}" # promoted by kubeline

  - name: redis
    newTag: "7.2"
`,
  ],
  [
    'a newTag becomes the digest in place (kustomize would render name:tag@digest with both)',
    `images:
- name: ghcr.io/acme/app
  newName: registry.example.com/acme/app
  newTag: 1.4.2 # set by CI
`,
    app,
    `images:
- name: ghcr.io/acme/app
  newName: registry.example.com/acme/app
  digest: ${NEW} # set by CI
`,
  ],
  [
    'a newTag beside a digest is removed, the first key of the entry after "- " included',
    `images:
- newTag: "1.0"
  name: ghcr.io/acme/app
  digest: ${OLD}
- name: other
`,
    app,
    `images:
- name: ghcr.io/acme/app
  digest: ${NEW}
- name: other
`,
  ],
  [
    'a newTag line below the digest is removed with its comment, the comment above the next key stays',
    `images:
  - name: ghcr.io/acme/app
    digest: ${OLD}
    newTag: v1 # stale
    # kept
    newName: ghcr.io/acme/app-prod
`,
    app,
    `images:
  - name: ghcr.io/acme/app
    digest: ${NEW}
    # kept
    newName: ghcr.io/acme/app-prod
`,
  ],
  [
    'a digest added with the entry indentation, CRLF line endings and no final newline',
    'images:\r\n    - name: ghcr.io/acme/app\r\n      newName: ghcr.io/acme/app-prod',
    app,
    `images:\r\n    - name: ghcr.io/acme/app\r\n      newName: ghcr.io/acme/app-prod\r\n      digest: ${NEW}`,
  ],
  [
    'a flow-style entry',
    `images: [{ name: ghcr.io/acme/app, newTag: '1' }, {name: b}]  # inline\n`,
    app,
    `images: [{ name: ghcr.io/acme/app, digest: '${NEW}' }, {name: b}]  # inline\n`,
  ],
  [
    'newName set in place and added when absent',
    `images:\n- name: ghcr.io/acme/app\n  newName: old.example.com/app\n- name: web\n`,
    { kind: 'kustomize-image', name: 'web', newName: 'ghcr.io/acme/web' },
    `images:\n- name: ghcr.io/acme/app\n  newName: old.example.com/app\n- name: web\n  newName: ghcr.io/acme/web\n  digest: ${NEW}\n`,
  ],
];

const values = (key: string, value?: string): FileChange => ({ kind: 'helm-value', key, value });

const helmCases: Case[] = [
  [
    'image.digest replaced, single quotes and comments kept',
    `# values for production
replicaCount: 3
image:
  repository: ghcr.io/acme/app   # pushed by push-image
  digest: '${OLD}'   # promoted
  pullPolicy: IfNotPresent
`,
    values('image.digest'),
    `# values for production
replicaCount: 3
image:
  repository: ghcr.io/acme/app   # pushed by push-image
  digest: '${NEW}'   # promoted
  pullPolicy: IfNotPresent
`,
  ],
  [
    'a missing leaf is added after the last key of its map, before what follows',
    `app:
  image:
    repository: ghcr.io/acme/app
    tag: "1.2"  # tag stays; the chart prefers the digest
  resources:
    limits: { cpu: 1 }
`,
    values('app.image.digest'),
    `app:
  image:
    repository: ghcr.io/acme/app
    tag: "1.2"  # tag stays; the chart prefers the digest
    digest: ${NEW}
  resources:
    limits: { cpu: 1 }
`,
  ],
  [
    'an empty value and a value of your own',
    `image:\n  repository: ghcr.io/acme/app\n  tag:\n`,
    values('image.tag', `1.2.3@${NEW}`),
    `image:\n  repository: ghcr.io/acme/app\n  tag: 1.2.3@${NEW}\n`,
  ],
  [
    'a flow map and a key with a dot in it',
    `podAnnotations: {kubeline.dev/run: "1"}\nimage: {repository: app}\n`,
    values('podAnnotations.kubeline\\.dev/run', '2'),
    `podAnnotations: {kubeline.dev/run: "2"}\nimage: {repository: app}\n`,
  ],
  [
    'a key added to a flow map',
    `image: { repository: app }\n`,
    values('image.digest'),
    `image: { repository: app, digest: ${NEW} }\n`,
  ],
];

const deployment = (image: string, sidecar = 'docker.io/library/nginx:1.27') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # the front end
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: "${image}"
      containers:
        - name: app
          image: ${image}   # pinned
        - name: proxy
          image: ${sidecar}
`;

// A Deployment, a ConfigMap that mentions the image in its data, and a custom resource, with `...` at the end.
const bundle = (image: string, rollout: string) => `# bundle
${deployment(image)}---
apiVersion: v1
kind: ConfigMap
metadata: {name: notes}
data:
  image: ghcr.io/acme/app:1.4
---
# a custom resource
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: canary}
spec:
  template:
    spec:
      containers: [{name: app, image: '${rollout}'}]
...
`;

const containerCases: Case[] = [
  [
    'every matching container in every document; other images, strings in ConfigMaps and comments untouched',
    bundle('ghcr.io/acme/app:1.4', `ghcr.io/acme/app@${OLD}`),
    { kind: 'container-image', repository: 'ghcr.io/acme/app' },
    bundle(`ghcr.io/acme/app@${NEW}`, `ghcr.io/acme/app@${NEW}`),
  ],
  [
    'names match as Docker reads them (nginx is docker.io/library/nginx), the spelling in the file stays',
    deployment('ghcr.io/acme/app:1', 'nginx:1.27'),
    { kind: 'container-image', repository: 'docker.io/library/nginx' },
    deployment('ghcr.io/acme/app:1', `nginx@${NEW}`),
  ],
];

describe.each([
  ['kustomization images', kustomizeCases],
  ['Helm values', helmCases],
  ['container images', containerCases],
])('%s', (_, cases) => {
  test.each(cases)('%s', (_name, input, change, expected) => {
    const first = editFile('f.yaml', input, change, NEW);
    expect(first.text).toBe(expected);
    expect(first.changes.length).toBeGreaterThan(0);
    const again = editFile('f.yaml', first.text, change, NEW);
    expect(again).toEqual({ text: expected, changes: [] });
  });
});

test('the changes say what was there before, on which line', () => {
  const { changes } = editFile('k.yaml', kustomizeCases[2][1], app, NEW);
  expect(changes).toEqual([
    { field: 'images[ghcr.io/acme/app].digest', line: 4, before: OLD, after: NEW },
    { field: 'images[ghcr.io/acme/app].newTag', line: 2, before: '1.0' },
  ]);
  const images = editFile('d.yaml', deployment('ghcr.io/acme/app:1.4'), { kind: 'container-image', repository: 'ghcr.io/acme/app' }, NEW).changes;
  expect(images.map((c) => [c.field, c.line, c.before])).toEqual([
    ['Deployment web container "migrate" image', 10, 'ghcr.io/acme/app:1.4'],
    ['Deployment web container "app" image', 13, 'ghcr.io/acme/app:1.4'],
  ]);
});

describe('mistakes name the input and the fix', () => {
  const cases: Array<[string, string, FileChange, RegExp]> = [
    ['no entry of that name', 'images:\n- name: ghcr.io/acme/api\n- name: redis\n', app, /no images: entry named "ghcr.io\/acme\/app"; the names there are "ghcr.io\/acme\/api", "redis"/],
    ['no images list', 'resources: [../base]\n', app, /f.yaml has no images: list/],
    ['a kustomization of two documents', 'images: []\n---\nimages: []\n', app, /holds 2 YAML documents/],
    ['a missing parent key', 'image:\n  repository: app\n  tag: "1"\n', values('imgae.digest'), /no "imgae" \(imgae.digest\); keys at the top level: image/],
    ['a key that is a map', 'image:\n  repository: app\n', values('image'), /image in f.yaml is a map, not a value; name a key inside it: repository/],
    ['a key below a value', 'image: app\n', values('image.digest'), /image is not a map/],
    ['a repository no container runs', deployment('ghcr.io/acme/app:1'), { kind: 'container-image', repository: 'ghcr.io/acme/ap' }, /no container in f.yaml runs "ghcr.io\/acme\/ap"; the images there are docker.io\/library\/nginx, ghcr.io\/acme\/app/],
    ['invalid YAML', 'images:\n  - name: [a\n', app, /f.yaml:\d is not valid YAML/],
    ['an alias', 'x: &d sha\nimages:\n- name: ghcr.io/acme/app\n  digest: *d\n', app, /alias \(\*d\)/],
  ];
  test.each(cases)('%s', (_, input, change, message) => {
    expect(() => editFile('f.yaml', input, change, NEW)).toThrow(ConfigurationError);
    expect(() => editFile('f.yaml', input, change, NEW)).toThrow(message);
  });

  test('a digest that is not one', () => {
    expect(() => editFile('f.yaml', 'images: []\n', app, 'sha256:abc')).toThrow(/input 'digest': "sha256:abc" is not an image digest/);
  });

  test.each([
    ['image.digest', ['image', 'digest']],
    ['a\\.b.c', ['a.b', 'c']],
  ])('key path %s', (key, parts) => expect(splitKeyPath(key)).toEqual(parts));
  test('an empty key path segment', () => expect(() => splitKeyPath('image..digest')).toThrow(/input 'key'/));
});
