/**
 * What the caches keep per object. The API server sends `metadata.managedFields` with every object (often
 * more bytes than the spec); nothing in core reads it, no write sends it back, and the downward API cannot
 * expose it. Dropped on arrival, before an object is stored, so a cache of 10,000 pods does not keep 10,000
 * copies of it.
 */

interface WithMetadata {
  metadata?: object;
}

/** Drops `metadata.managedFields` in place and returns the object (a reflector `transform`). */
export function withoutManagedFields<T>(object: T): T {
  const metadata = (object as WithMetadata | undefined)?.metadata as { managedFields?: unknown } | undefined;
  if (metadata !== undefined && "managedFields" in metadata) delete metadata.managedFields;
  return object;
}
