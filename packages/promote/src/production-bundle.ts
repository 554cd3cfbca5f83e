/** The production bundle for deploy mode: rendered with the proven digests put in, or given and checked. */
import { canonicalName, containersOf, describeObject, type KubeObject, objectRef, parseImage, podSpecs } from '@kubeline/k8s';
import { readManifests } from '@kubeline/kube';
import { type ImageOverride, type ManifestSettings, type RenderTools, renderAndValidate, renderAndValidateManifests } from '@kubeline/manifests';
import { log, StepFailure } from '@kubeline/toolkit';
import { digestOf, Refusal } from './proof';

/** `registry/team/app` → `app`: how a placeholder image in an overlay is usually named. */
const lastSegment = (name: string): string => name.slice(name.lastIndexOf('/') + 1);

/**
 * Which proven image each container of the production render gets: the one the same container
 * (kind, object name, container name) runs in staging, else the proven image whose repository
 * has the same name or last path segment. Containers matching none keep their image, and the
 * check after rendering refuses them.
 */
export function overridesFor(production: readonly KubeObject[], staging: readonly KubeObject[], proven: readonly string[]): ImageOverride[] {
  const stagingImage = new Map<string, string>();
  for (const object of staging) {
    const ref = objectRef(object);
    for (const pod of podSpecs(object)) for (const { container } of containersOf(pod)) stagingImage.set(`${ref.kind}/${ref.name}/${String(container.name)}`, String(container.image));
  }
  const byName = new Map<string, ImageOverride>();
  for (const object of production) {
    const ref = objectRef(object);
    for (const pod of podSpecs(object)) {
      for (const { container } of containersOf(pod)) {
        if (typeof container.image !== 'string') continue;
        const name = parseImage(container.image).name;
        const same = stagingImage.get(`${ref.kind}/${ref.name}/${String(container.name)}`);
        const reference =
          (same && proven.includes(same) ? same : undefined) ??
          proven.find((p) => canonicalName(parseImage(p).name) === canonicalName(name)) ??
          proven.find((p) => lastSegment(parseImage(p).name) === lastSegment(name));
        if (reference && !byName.has(canonicalName(name))) byName.set(canonicalName(name), { name, reference });
      }
    }
  }
  return [...byName.values()];
}

/** Every container image of the bundle is one of the proven digests; else a refusal naming the others. */
export function checkAllProven(objects: readonly KubeObject[], proven: readonly string[], where: string): void {
  const digests = new Set(proven.map((p) => digestOf(p)));
  const strangers: string[] = [];
  for (const object of objects) {
    for (const pod of podSpecs(object)) {
      for (const { container } of containersOf(pod)) {
        const image = String(container.image ?? '');
        if (!digests.has(digestOf(image))) strangers.push(`${describeObject(objectRef(object))} container ${String(container.name)}: ${image}`);
      }
    }
  }
  if (strangers.length) {
    throw new Refusal(
      `${where} runs images that were not proven in staging: ${strangers.join('; ')}. Proven: ${proven.join(', ')}. Promote only moves what staging verified; name the image in images: name=ref@sha256:… or fix the production manifests.`,
    );
  }
}

/**
 * Renders the production manifests (render-and-validate-manifests' pipeline, the same inputs)
 * with the proven digests, validates them as that action does, and writes the bundle. Two passes:
 * the first only reads which image names the production render uses.
 */
export async function renderProduction(settings: ManifestSettings, tools: RenderTools, stagingBundle: readonly KubeObject[], proven: readonly string[]): Promise<string> {
  const probe = await renderAndValidate({ ...settings, images: [] }, tools);
  const images = overridesFor(
    probe.manifests.map((m) => m.object),
    stagingBundle,
    proven,
  );
  for (const o of images) log.info(`image ${o.name} → ${o.reference} (proven in staging)`);
  const outcome = await renderAndValidateManifests({ ...settings, images }, tools);
  if (outcome.failure) throw new StepFailure(`the production manifests do not validate: ${outcome.failure}. Nothing was deployed.`);
  checkAllProven(
    outcome.manifests.map((m) => m.object),
    proven,
    'the production render',
  );
  return outcome.files.manifests;
}

/** A given bundle: every image must be proven. Returns its path. */
export async function checkGivenBundle(path: string, proven: readonly string[]): Promise<string> {
  checkAllProven(await readManifests(path), proven, path);
  return path;
}
