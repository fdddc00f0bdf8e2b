/**
 * The structural ("JSON-shaped") version of a `@kubernetes/client-node` model type: every generated model
 * class becomes a plain object type, recursively. Dates (including `V1MicroTime`) stay as they are.
 */
export type ModelShape<T> = T extends Date
  ? T
  : T extends readonly (infer U)[]
    ? ModelShape<U>[]
    : T extends object
      ? { [K in keyof T]: ModelShape<T[K]> }
      : T;

/**
 * Types a plain object literal as a client-node model. The generated model classes are only type
 * information to client-node's serializer (it never needs real instances), so object literals are the
 * normal way to build request bodies; this makes that explicit instead of pretending they are instances.
 *
 * ```ts
 * await core.createNamespace({ body: model<V1Namespace>({ metadata: { name: "demo" } }) });
 * ```
 */
export function model<T>(value: ModelShape<T>): T {
  return value as T;
}
