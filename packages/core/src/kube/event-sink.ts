/**
 * The Event recorder's sink on the real API (core/v1 Events, which every kubectl shows).
 */
import { NotFoundError } from "../errors.js";
import type { EventCountPatch, EventSink } from "../events.js";
import { isNotFound, type KubeClient } from "./client.js";
import { paths, toTime } from "./api.js";
import type { KubeEvent } from "./types.js";

export function createKubeEventSink(client: KubeClient): EventSink {
  return {
    async create(event: KubeEvent): Promise<void> {
      const ns = event.metadata.namespace ?? "default";
      await client.create(paths.events(ns), event);
    },
    async patch(event: KubeEvent, changes: EventCountPatch): Promise<void> {
      const ns = event.metadata.namespace ?? "default";
      const name = event.metadata.name ?? "";
      try {
        await client.patch(
          paths.event(ns, name),
          { count: changes.count, lastTimestamp: toTime(changes.lastTimestamp), message: changes.message },
          "application/merge-patch+json",
        );
      } catch (error) {
        if (isNotFound(error))
          throw new NotFoundError(`event ${ns}/${name} no longer exists`, { cause: error });
        throw error;
      }
    },
  };
}
