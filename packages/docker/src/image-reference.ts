/**
 * The one check of image references and registry hosts before either reaches
 * a command line, by the distribution reference grammar
 * (github.com/distribution/reference, `reference.go`): a value docker would
 * read as a flag (`--volume=/:/host`, `--help`) is refused with the fix.
 */
import { ConfigurationError } from '@kubeline/toolkit';

// domain-component, and host := domain-name | IPv4 | [IPv6], with an optional port.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:.]+\\])(?::[0-9]+)?$`);
// path-component := alpha-numeric [separator alpha-numeric]*, separator := [_.] | __ | -+
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const DIGEST_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };
const NAME_MAX = 255;

/** What an image reference should look like, for error messages. */
export const IMAGE_REFERENCE_FORM = 'Give [registry[:port]/]repository[:tag][@sha256:digest] in lowercase, e.g. ghcr.io/acme/app:1.2';

/** Why `ref` is not an image reference (`[host[:port]/]path[:tag][@digest]`), or undefined when it is one. */
export function imageReferenceProblem(ref: string): string | undefined {
  if (!ref) return 'it is empty';
  if (ref.startsWith('-')) return "it starts with '-'";
  if (/\s/.test(ref)) return 'it contains whitespace';
  const at = ref.indexOf('@');
  let name = at >= 0 ? ref.slice(0, at) : ref;
  if (at >= 0) {
    const digest = ref.slice(at + 1);
    const expected = DIGEST_LENGTH[digest.slice(0, digest.indexOf(':'))];
    if (!DIGEST.test(digest) || (expected !== undefined && digest.length - digest.indexOf(':') - 1 !== expected)) {
      return 'the digest must be sha256:<64 hex digits>';
    }
  }
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    if (!TAG.test(name.slice(colon + 1))) return 'the tag must be 1 to 128 of [A-Za-z0-9_.-], not starting with . or -';
    name = name.slice(0, colon);
  }
  const components = name.split('/');
  // As docker splits it: the first component is the registry when it looks like a host.
  const first = components[0]!;
  if (components.length > 1 && (/[.:A-Z]/.test(first) || first === 'localhost' || first.startsWith('['))) {
    if (!HOST.test(first)) return 'the registry must be host[:port]';
    components.shift();
  }
  for (const c of components) {
    if (PATH_COMPONENT.test(c)) continue;
    if (PATH_COMPONENT.test(c.toLowerCase())) return 'the repository must be lowercase';
    return "each path component is lowercase letters and digits, separated by '.', '_', '__' or '-'";
  }
  if (name.length > NAME_MAX) return `the name is longer than ${NAME_MAX} characters`;
  return undefined;
}

/** Why `host` is not a registry host (`host[:port]`, as `docker login` takes it), or undefined when it is one. */
export function registryHostProblem(host: string): string | undefined {
  if (!host) return 'it is empty';
  if (host.startsWith('-')) return "it starts with '-'";
  if (/\s/.test(host)) return 'it contains whitespace';
  if (host.includes('/')) return 'it has a scheme or a path';
  if (!HOST.test(host)) return 'it must be host[:port]';
  return undefined;
}

/**
 * `ref` when it is an image reference, else a ConfigurationError on `input`
 * that says why and what one looks like (`hint`: where a good one comes from).
 */
export function checkImageReference(ref: string, input: string, hint?: string): string {
  const problem = imageReferenceProblem(ref);
  if (problem) throw new ConfigurationError(`'${ref}' is not an image reference: ${problem}. ${IMAGE_REFERENCE_FORM}${hint ? ` (${hint})` : ''}.`, input);
  return ref;
}

/** `host` when it is a registry host, else a ConfigurationError on `input` with the fix. */
export function checkRegistryHost(host: string, input: string): string {
  const problem = registryHostProblem(host);
  if (problem) throw new ConfigurationError(`'${host}' is not a registry host: ${problem}. Give host[:port] with no scheme or path, e.g. ghcr.io or 127.0.0.1:5000.`, input);
  return host;
}
