/** Image references as pod specs hold them: their parts, and one spelling per image name. */

/** The parts of an image reference: `registry:5000/team/app:1.2@sha256:…`. */
export function parseImage(reference: string): { name: string; tag?: string; digest?: string } {
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) [rest, digest] = [rest.slice(0, at), rest.slice(at + 1)];
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) [rest, tag] = [rest.slice(0, colon), rest.slice(colon + 1)];
  return { name: rest, tag, digest };
}

/** One spelling per image name: `nginx`, `library/nginx` and `docker.io/library/nginx` are the same. */
export function canonicalName(name: string): string {
  let parts = name.split('/');
  const hasRegistry = parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost');
  if (!hasRegistry) parts = ['docker.io', ...parts];
  if (parts[0] === 'index.docker.io') parts[0] = 'docker.io';
  if (parts[0] === 'docker.io' && parts.length === 2) parts = ['docker.io', 'library', parts[1]];
  return parts.join('/');
}
