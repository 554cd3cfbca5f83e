/** The `images` input (`name=reference`) applied to every container of the bundle; image reference parsing. */
import { ConfigurationError } from '@kubeline/toolkit';
import { canonicalName, containerImages, containersOf, type FieldPath, objectRef, type ObjectRef, parseImage, podSpecs } from '@kubeline/k8s';
import { type Finding, type Manifest } from './types';

/** `name=reference` from the `images` input: every container whose image is `name` gets `reference`. */
export interface ImageOverride {
  name: string;
  reference: string;
}

export interface ImageReplacement {
  object: ObjectRef;
  container: string;
  path: FieldPath;
  from: string;
  to: string;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function validateReference(line: string, name: string, reference: string): void {
  const { name: repo, tag, digest } = parseImage(reference);
  const problems: string[] = [];
  const path = repo.replace(/^[^/]*[.:][^/]*\//, '').replace(/^localhost\//, '');
  if (!repo || !REPOSITORY.test(path)) problems.push(`"${repo}" is not a valid repository name (lowercase letters, digits, ".", "_", "-", "/")`);
  if (tag !== undefined && !TAG.test(tag)) problems.push(`":${tag}" is not a valid tag`);
  if (digest !== undefined && !DIGEST.test(digest)) problems.push(`"@${digest}" is not a sha256 digest (sha256: and 64 hex digits)`);
  if (problems.length) throw new ConfigurationError(`line "${line}": ${problems.join('; ')}.`, 'images');
  if (!name) throw new ConfigurationError(`line "${line}": the image name before "=" is empty.`, 'images');
}

/**
 * Parses the `images` input. The reference may be a whole image reference, or only what to put
 * after the name: `demo=@sha256:…` (pin by digest) or `demo=:1.2.3`.
 */
export function parseImageOverrides(entries: ReadonlyArray<[string, string]>): ImageOverride[] {
  return entries.map(([name, value]) => {
    const reference = value.startsWith('@') || value.startsWith(':') ? `${name}${value}` : value;
    validateReference(`${name}=${value}`, name, reference);
    return { name, reference };
  });
}

/**
 * Puts the given references into every container, init container and ephemeral container of
 * every pod spec in the bundle (built-in workloads and pod templates inside custom resources).
 * A name that matched nothing is an error finding: a typo must not ship the old image.
 */
export function applyImageOverrides(manifests: readonly Manifest[], overrides: readonly ImageOverride[]): { replacements: ImageReplacement[]; findings: Finding[] } {
  const replacements: ImageReplacement[] = [];
  const byName = new Map(overrides.map((o) => [canonicalName(o.name), o]));
  const used = new Set<ImageOverride>();
  if (byName.size === 0) return { replacements, findings: [] };
  for (const manifest of manifests) {
    const object = manifest.object;
    for (const pod of podSpecs(object)) {
      for (const { container, path } of containersOf(pod)) {
        if (typeof container.image !== 'string') continue;
        const override = byName.get(canonicalName(parseImage(container.image).name));
        if (!override) continue;
        used.add(override);
        if (container.image === override.reference) continue;
        replacements.push({ object: objectRef(object), container: String(container.name ?? ''), path: [...path, 'image'], from: container.image, to: override.reference });
        container.image = override.reference;
        manifest.text = undefined;
      }
    }
  }
  const findings: Finding[] = [];
  const present = [...new Set(containerImages(manifests.map((m) => m.object)).map((i) => parseImage(i).name))];
  for (const override of overrides) {
    if (used.has(override)) continue;
    findings.push({
      rule: 'images/unmatched',
      severity: 'error',
      message: `images: "${override.name}" matches no container image in the bundle`,
      fix: present.length ? `Image names in the bundle: ${present.join(', ')}. Fix the name before "=".` : 'The bundle has no containers; check `path` and `environment`.',
    });
  }
  return { replacements, findings };
}
