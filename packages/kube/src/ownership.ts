/** What marks an object as kubeline's (field manager, label, release annotation), the fields only the server writes, and the kinds handled apart. */
import { splitApiVersion } from '@kubeline/k8s';

/** The field manager of every apply, and the name of the owner in managedFields. */
export const FIELD_MANAGER = 'kubeline';
/** The label every applied object carries, and its value. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'kubeline';
/** The release an applied object belongs to: prune only ever deletes objects that carry it. */
export const RELEASE_ANNOTATION = 'kubeline.dev/release';

/** Fields the server owns: never sent, and left out of a diff so it shows only what the manifest changes. */
export const SERVER_FIELDS: readonly string[] = ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink'];

/** A Namespace: applied before everything, never pruned (deleting it deletes everything in it). */
export const isNamespace = (o: { apiVersion: string; kind: string }): boolean => o.kind === 'Namespace' && o.apiVersion === 'v1';

/** A CustomResourceDefinition: applied and Established before its kind's objects, never pruned. */
export const isCrd = (o: { apiVersion: string; kind: string }): boolean => o.kind === 'CustomResourceDefinition' && splitApiVersion(o.apiVersion).group === 'apiextensions.k8s.io';
