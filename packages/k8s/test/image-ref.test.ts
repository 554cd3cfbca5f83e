import { canonicalName, parseImage } from '../src/image-ref';

const DIGEST = `sha256:${'a'.repeat(64)}`;

test.each([
  ['registry.local:5000/team/app', { name: 'registry.local:5000/team/app' }],
  ['registry.local:5000/team/app:1.2', { name: 'registry.local:5000/team/app', tag: '1.2' }],
  [`app:1.2@${DIGEST}`, { name: 'app', tag: '1.2', digest: DIGEST }],
  [`app@${DIGEST}`, { name: 'app', digest: DIGEST }],
])('parseImage(%s)', (image, parts) => {
  expect(parseImage(image)).toEqual(parts);
});

test.each([
  ['nginx', 'docker.io/library/nginx'],
  ['library/nginx', 'docker.io/library/nginx'],
  ['index.docker.io/library/nginx', 'docker.io/library/nginx'],
  ['acme/app', 'docker.io/acme/app'],
  ['ghcr.io/acme/app', 'ghcr.io/acme/app'],
  ['localhost/app', 'localhost/app'],
  ['127.0.0.1:5000/app', '127.0.0.1:5000/app'],
])('canonicalName(%s) = %s', (name, canonical) => {
  expect(canonicalName(name)).toBe(canonical);
});
