/**
 * The ARM calls of the standby pool that `@azure/arm-containerinstance` 9.1 (api-version
 * 2023-05-01) does not model: reading a container group profile revision, and sending a claim.
 * Both go through the SDK client itself (its pipeline: credentials, endpoint, the provider's
 * policies): the read as an operation of its own (`CGProfile_GetByRevisionNumber` of the
 * 2026-05-01 swagger), the claim as the SDK's own `beginCreateOrUpdate`, whose serialized body a
 * pipeline policy replaces by the claim body (and whose api-version it raises) — so the SDK's
 * long-running-operation poller follows a claim exactly as it follows a create.
 */
import type { ContainerInstanceManagementClient } from "@azure/arm-containerinstance";
import { createSerializer } from "@azure/core-client";
import type { OperationSpec, OperationURLParameter } from "@azure/core-client";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { STANDBY_API_VERSION, parseArmId } from "./standby.js";
import type { ContainerGroupProfileResource, StandbyClaimRequest } from "./standby.js";

const serializer = createSerializer({}, false);

const urlParameter = (name: string): OperationURLParameter => ({
  parameterPath: name,
  mapper: { serializedName: name, required: true, type: { name: "String" } },
});

const GET_REVISION: OperationSpec = {
  path: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerInstance/containerGroupProfiles/{containerGroupProfileName}/revisions/{revisionNumber}",
  httpMethod: "GET",
  responses: { 200: {}, default: {} },
  queryParameters: [
    {
      parameterPath: "apiVersion",
      mapper: {
        defaultValue: STANDBY_API_VERSION,
        isConstant: true,
        serializedName: "api-version",
        type: { name: "String" },
      },
    },
  ],
  urlParameters: [
    urlParameter("subscriptionId"),
    urlParameter("resourceGroupName"),
    urlParameter("containerGroupProfileName"),
    urlParameter("revisionNumber"),
  ],
  headerParameters: [],
  serializer,
};

/**
 * Reads one revision of a container group profile through the SDK client. ARM errors are thrown
 * as the SDK throws them (`RestError` with ARM's code), for the kit to type.
 */
export async function getProfileRevision(
  client: ContainerInstanceManagementClient,
  profileId: string,
  revision: number,
  signal: AbortSignal,
): Promise<ContainerGroupProfileResource> {
  const id = parseArmId(profileId);
  if (id === undefined) throw new Error(`not a resource ID: ${profileId}`);
  // Without a body mapper core-client returns ARM's JSON as it came, wrapped in `body`.
  const response = await client.sendOperationRequest<{ body: ContainerGroupProfileResource }>(
    {
      subscriptionId: id.subscriptionId,
      resourceGroupName: id.resourceGroup,
      containerGroupProfileName: id.name,
      revisionNumber: String(revision),
      options: { abortSignal: signal },
    },
    GET_REVISION,
  );
  return response.body;
}

/** Request header that marks a `beginCreateOrUpdate` as a claim (removed before it is sent). */
export const CLAIM_HEADER = "x-virtual-node-standby-claim";

const GROUP_PATH = /\/providers\/Microsoft\.ContainerInstance\/containerGroups\/([^/?]+)$/i;

/**
 * The pipeline policy of the standby pool. A PUT marked with {@link CLAIM_HEADER} is sent with the
 * claim body of `claims` (by group name) at api-version {@link STANDBY_API_VERSION}; answers to
 * GETs and PUTs of a group record ARM's `isCreatedFromStandbyPool` in `fromPool` (the SDK's model
 * drops the field).
 */
export function standbyPolicy(
  claims: ReadonlyMap<string, StandbyClaimRequest>,
  fromPool: Map<string, boolean>,
): PipelinePolicy {
  return {
    name: "virtualNodeAciStandbyPool",
    async sendRequest(request, next) {
      const marked = request.headers.get(CLAIM_HEADER);
      request.headers.delete(CLAIM_HEADER);
      const url = new URL(request.url);
      const name = GROUP_PATH.exec(url.pathname)?.[1];
      const claim = marked === undefined ? undefined : claims.get(marked);
      if (request.method === "PUT" && claim !== undefined) {
        url.searchParams.set("api-version", STANDBY_API_VERSION);
        request.url = url.toString();
        request.body = JSON.stringify(claim);
      }
      const response = await next(request);
      if (
        name !== undefined &&
        (request.method === "GET" || request.method === "PUT") &&
        response.status >= 200 &&
        response.status < 300 &&
        response.bodyAsText !== undefined &&
        response.bodyAsText !== null
      ) {
        const flag = createdFromPool(response.bodyAsText);
        if (flag !== undefined) fromPool.set(decodeURIComponent(name), flag);
      }
      return response;
    },
  };
}

function createdFromPool(text: string): boolean | undefined {
  try {
    const body = JSON.parse(text) as { properties?: { isCreatedFromStandbyPool?: unknown } };
    const flag = body.properties?.isCreatedFromStandbyPool;
    return typeof flag === "boolean" ? flag : undefined;
  } catch {
    return undefined;
  }
}
