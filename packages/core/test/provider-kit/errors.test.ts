import {
  AccessDeniedException,
  ClientException,
  ClusterNotFoundException,
  ECSServiceException,
  InvalidParameterException,
  ServerException,
  UnsupportedFeatureException,
} from "@aws-sdk/client-ecs";
import { RestError, createHttpHeaders, createPipelineRequest } from "@azure/core-rest-pipeline";
import type { PipelineResponse } from "@azure/core-rest-pipeline";
import { HttpResponse } from "@smithy/core/protocols";
import gax from "google-gax";
import { describe, expect, it } from "vitest";
import {
  AbortedError,
  ErrorCodes,
  InvalidInputError,
  NotFoundError,
  PermanentError,
  RetryableError,
  UnsupportedError,
  VirtualNodeError,
} from "@virtual-node/core";
import {
  errorFromHttpStatus,
  fromAwsError,
  fromAzureError,
  fromGoogleError,
  isThrottle,
  parseRetryAfter,
} from "@virtual-node/core/provider-kit";

const NOW = Date.UTC(2026, 11, 1, 20, 0, 0);
const { GoogleError, Status, grpc, protobuf } = gax;

type Expected = {
  code: string;
  cloudCode?: string;
  throttle?: boolean;
  retryAfterMs?: number;
  message?: RegExp;
};

function expectMapped(error: VirtualNodeError, expected: Expected): void {
  expect(error).toBeInstanceOf(VirtualNodeError);
  expect(error.code).toBe(expected.code);
  expect(error.cloudCode).toBe(expected.cloudCode);
  expect(isThrottle(error)).toBe(expected.throttle ?? false);
  if (expected.retryAfterMs !== undefined)
    expect((error as RetryableError).retryAfterMs).toBe(expected.retryAfterMs);
  if (expected.message !== undefined) expect(error.message).toMatch(expected.message);
}

describe("parseRetryAfter", () => {
  it.each([
    ["120", 120_000],
    ["0", 0],
    ["1.5", 1_500],
    [" 7 ", 7_000],
    [3, 3_000],
    ["Tue, 01 Dec 2026 20:00:30 GMT", 30_000],
    ["Tue, 01 Dec 2026 19:59:00 GMT", 0], // a date in the past: go now
  ] as const)("%j → %d ms", (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  it.each([null, undefined, "", "  ", "-5", -1, "soon", Number.NaN, "12abc"])("%j → undefined", (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});

describe("errorFromHttpStatus", () => {
  it.each([
    [404, ErrorCodes.NotFound],
    [400, ErrorCodes.InvalidInput],
    [422, ErrorCodes.InvalidInput],
    [501, ErrorCodes.Unsupported],
    [408, ErrorCodes.Retryable],
    [409, ErrorCodes.Retryable],
    [429, ErrorCodes.Retryable],
    [500, ErrorCodes.Retryable],
    [502, ErrorCodes.Retryable],
    [503, ErrorCodes.Retryable],
    [401, ErrorCodes.Permanent],
    [403, ErrorCodes.Permanent],
    [410, ErrorCodes.Permanent],
    [0, ErrorCodes.Retryable],
  ])("HTTP %d → %s", (status, code) => {
    const error = errorFromHttpStatus(status, "boom");
    expect(error.code).toBe(code);
    expect(isThrottle(error)).toBe(status === 429);
  });

  it("prefixes the cloud code, keeps retryAfterMs, field and cause, and redacts secrets", () => {
    const cause = new Error("raw");
    const error = errorFromHttpStatus(429, "slow down, token=abc123", {
      cloudCode: "TooManyRequests",
      retryAfterMs: 5_000,
      field: "spec.containers[0]",
      cause,
    });
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).toBe("TooManyRequests: slow down, token=[REDACTED]");
    expect((error as RetryableError).retryAfterMs).toBe(5_000);
    expect(error.field).toBe("spec.containers[0]");
    expect(error.cloudCode).toBe("TooManyRequests");
    expect(error.cause).toBe(cause);
  });

  it("does not repeat a code the message already starts with; `throttle` overrides the 429 rule", () => {
    expect(errorFromHttpStatus(400, "X: y", { cloudCode: "X" }).message).toBe("X: y");
    expect(isThrottle(errorFromHttpStatus(503, "slow", { throttle: true }))).toBe(true);
    expect(isThrottle(errorFromHttpStatus(429, "conflict", { throttle: false }))).toBe(false);
    // Only retryable errors are throttles.
    expect(isThrottle(errorFromHttpStatus(400, "bad", { throttle: true }))).toBe(false);
  });
});

describe("isThrottle", () => {
  it("is false for plain retryable errors and non-errors", () => {
    expect(isThrottle(new RetryableError("outage"))).toBe(false);
    expect(isThrottle(new Error("x"))).toBe(false);
    expect(isThrottle(undefined)).toBe(false);
  });
});

// ---- AWS --------------------------------------------------------------------------------------

const awsMeta = (httpStatusCode: number) => ({
  httpStatusCode,
  requestId: "5ed90669-e454",
  attempts: 1,
  totalRetryDelay: 0,
});

/** What the SDK builds for an unmodeled error (`throwDefaultError`), such as ECS's ThrottlingException. */
function awsUnmodeled(
  name: string,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): ECSServiceException {
  const error = new ECSServiceException({ name, $fault: "client", $metadata: awsMeta(status), message });
  error.$response = new HttpResponse({
    statusCode: status,
    headers: { "x-amzn-requestid": "5ed90669", ...headers },
  });
  return error;
}

describe("fromAwsError", () => {
  const cases: [string, () => unknown, Expected][] = [
    [
      "ThrottlingException (HTTP 400, unmodeled in ECS)",
      () => awsUnmodeled("ThrottlingException", 400, "Rate exceeded"),
      {
        code: ErrorCodes.Retryable,
        cloudCode: "ThrottlingException",
        throttle: true,
        message: /^ThrottlingException: Rate exceeded$/,
      },
    ],
    [
      "ClientException",
      () => new ClientException({ message: "Invalid 'cpu' setting for task.", $metadata: awsMeta(400) }),
      { code: ErrorCodes.InvalidInput, cloudCode: "ClientException", message: /Invalid 'cpu' setting/ },
    ],
    [
      "a throttle wrapped in InvalidParameterException",
      () =>
        new InvalidParameterException({
          message: "Error retrieving security group information: Rate exceeded",
          $metadata: awsMeta(400),
        }),
      { code: ErrorCodes.Retryable, cloudCode: "InvalidParameterException", throttle: true },
    ],
    [
      "InvalidParameterException",
      () => new InvalidParameterException({ message: "bad subnet", $metadata: awsMeta(400) }),
      { code: ErrorCodes.InvalidInput, cloudCode: "InvalidParameterException" },
    ],
    [
      "ClusterNotFoundException",
      () => new ClusterNotFoundException({ message: "Cluster not found.", $metadata: awsMeta(400) }),
      { code: ErrorCodes.NotFound, cloudCode: "ClusterNotFoundException" },
    ],
    [
      "AccessDeniedException",
      () =>
        new AccessDeniedException({
          message: "not authorized to perform ecs:RunTask",
          $metadata: awsMeta(400),
        }),
      { code: ErrorCodes.Permanent, cloudCode: "AccessDeniedException" },
    ],
    [
      "ServerException",
      () =>
        new ServerException({
          message: "Service Unavailable. Please try again later.",
          $metadata: awsMeta(500),
        }),
      { code: ErrorCodes.Retryable, cloudCode: "ServerException" },
    ],
    [
      "UnsupportedFeatureException",
      () => new UnsupportedFeatureException({ message: "not in this Region", $metadata: awsMeta(400) }),
      { code: ErrorCodes.Unsupported, cloudCode: "UnsupportedFeatureException" },
    ],
    [
      "an unmodeled error named after its status",
      () => awsUnmodeled("503", 503, "Service Unavailable"),
      { code: ErrorCodes.Retryable, cloudCode: undefined },
    ],
    [
      "an unknown name: the status decides (404)",
      () => awsUnmodeled("SomethingMissing", 404, "gone"),
      { code: ErrorCodes.NotFound, cloudCode: "SomethingMissing" },
    ],
    [
      "an unknown name with HTTP 429",
      () => awsUnmodeled("Whatever", 429, "slow"),
      { code: ErrorCodes.Retryable, cloudCode: "Whatever", throttle: true },
    ],
    [
      "$retryable throttling trait",
      () => {
        const e = awsUnmodeled("CustomBusy", 400, "busy");
        e.$retryable = { throttling: true };
        return e;
      },
      { code: ErrorCodes.Retryable, cloudCode: "CustomBusy", throttle: true },
    ],
    [
      "Retry-After seconds from $response",
      () => awsUnmodeled("ThrottlingException", 400, "Rate exceeded", { "Retry-After": "3" }),
      { code: ErrorCodes.Retryable, cloudCode: "ThrottlingException", throttle: true, retryAfterMs: 3_000 },
    ],
    [
      "x-amz-retry-after milliseconds win",
      () =>
        awsUnmodeled("ThrottlingException", 400, "Rate exceeded", {
          "x-amz-retry-after": "1500",
          "retry-after": "9",
        }),
      { code: ErrorCodes.Retryable, cloudCode: "ThrottlingException", throttle: true, retryAfterMs: 1_500 },
    ],
    [
      "wrapped in a cause chain",
      () =>
        new Error("RunTask failed", {
          cause: new Error("send", { cause: awsUnmodeled("ThrottlingException", 400, "Rate exceeded") }),
        }),
      { code: ErrorCodes.Retryable, cloudCode: "ThrottlingException", throttle: true },
    ],
    [
      "inside an AggregateError",
      () =>
        new AggregateError(
          [new Error("dns"), new ClientException({ message: "bad", $metadata: awsMeta(400) })],
          "all failed",
        ),
      { code: ErrorCodes.InvalidInput, cloudCode: "ClientException" },
    ],
    [
      "a socket reset (no cloud shape)",
      () => Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
      { code: ErrorCodes.Retryable, cloudCode: undefined, message: /ECONNRESET: socket hang up/ },
    ],
  ];
  it.each(cases)("%s", (_name, make, expected) => {
    const raw = make();
    const error = fromAwsError(raw, NOW);
    expectMapped(error, expected);
    expect(error.cause).toBe(raw);
  });

  it("returns a VirtualNodeError unchanged and maps an AbortError to AbortedError", () => {
    const typed = new NotFoundError("task gone");
    expect(fromAwsError(typed)).toBe(typed);
    const abort = Object.assign(new Error("Request aborted"), { name: "AbortError" });
    expect(fromAwsError(abort)).toBeInstanceOf(AbortedError);
    // A typed error someone wrapped keeps its meaning.
    expect(fromAwsError(new Error("wrapper", { cause: typed }))).toBe(typed);
  });

  it("reads an HTTP-date Retry-After against the given time", () => {
    const error = fromAwsError(
      awsUnmodeled("ThrottlingException", 400, "Rate exceeded", {
        "retry-after": "Tue, 01 Dec 2026 20:00:10 GMT",
      }),
      NOW,
    );
    expect((error as RetryableError).retryAfterMs).toBe(10_000);
  });

  it("redacts credentials that an SDK message carries", () => {
    const error = fromAwsError(
      new ClientException({
        message: "bad header Authorization: Bearer abc.def.ghi",
        $metadata: awsMeta(400),
      }),
    );
    expect(error.message).not.toContain("abc.def.ghi");
    expect(error.message).toContain("[REDACTED]");
  });
});

// ---- Azure ------------------------------------------------------------------------------------

function azureError(
  status: number | undefined,
  code: string | undefined,
  message: string,
  headers: Record<string, string> = {},
): RestError {
  const request = createPipelineRequest({
    url: "https://management.azure.com/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/cg?api-version=2023-05-01",
    headers: createHttpHeaders({
      authorization: "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl",
    }),
  });
  const response: PipelineResponse | undefined =
    status === undefined ? undefined : { status, headers: createHttpHeaders(headers), request };
  return new RestError(message, {
    ...(code === undefined ? {} : { code }),
    ...(status === undefined ? {} : { statusCode: status }),
    request,
    ...(response === undefined ? {} : { response }),
  });
}

describe("fromAzureError", () => {
  const cases: [string, () => unknown, Expected][] = [
    [
      "ResourceNotFound",
      () =>
        azureError(
          404,
          "ResourceNotFound",
          "The Resource 'Microsoft.ContainerInstance/containerGroups/cg' was not found.",
        ),
      { code: ErrorCodes.NotFound, cloudCode: "ResourceNotFound" },
    ],
    [
      "ResourceGroupNotFound",
      () => azureError(404, "ResourceGroupNotFound", "Resource group 'rg' could not be found."),
      { code: ErrorCodes.NotFound, cloudCode: "ResourceGroupNotFound" },
    ],
    [
      "InvalidContainerGroup… (a 400 family)",
      () =>
        azureError(400, "InvalidContainerGroupUpdate", "The updates on container group 'cg' are invalid."),
      { code: ErrorCodes.InvalidInput, cloudCode: "InvalidContainerGroupUpdate" },
    ],
    [
      "InvalidRequestContent",
      () => azureError(400, "InvalidRequestContent", "The request content was invalid"),
      { code: ErrorCodes.InvalidInput, cloudCode: "InvalidRequestContent" },
    ],
    [
      "429 with Retry-After and an exhausted ARM budget",
      () =>
        azureError(429, "TooManyRequests", "The request is being throttled.", {
          "Retry-After": "23",
          "x-ms-ratelimit-remaining-subscription-writes": "0",
          "x-ms-ratelimit-remaining-subscription-reads": "11999",
        }),
      {
        code: ErrorCodes.Retryable,
        cloudCode: "TooManyRequests",
        throttle: true,
        retryAfterMs: 23_000,
        message:
          /^TooManyRequests: The request is being throttled\. \(exhausted: x-ms-ratelimit-remaining-subscription-writes\)$/,
      },
    ],
    [
      "429 from the resource provider: its `<policy>;<count>` budget is named",
      () =>
        azureError(429, undefined, "Too many requests", {
          "x-ms-ratelimit-remaining-resource": "Microsoft.ContainerInstance/ContainerGroupCreate5Min;0",
          "x-ms-ratelimit-remaining-subscription-writes": "1199",
        }),
      {
        code: ErrorCodes.Retryable,
        cloudCode: undefined,
        throttle: true,
        message:
          /^Too many requests \(exhausted: x-ms-ratelimit-remaining-resource Microsoft\.ContainerInstance\/ContainerGroupCreate5Min\)$/,
      },
    ],
    [
      "retry-after-ms wins over Retry-After",
      () =>
        azureError(429, "SubscriptionRequestsThrottled", "throttled", {
          "retry-after-ms": "250",
          "Retry-After": "9",
        }),
      {
        code: ErrorCodes.Retryable,
        cloudCode: "SubscriptionRequestsThrottled",
        throttle: true,
        retryAfterMs: 250,
      },
    ],
    [
      "a throttle code on another status",
      () => azureError(409, "ResourceRequestsThrottled", "too many container group requests"),
      { code: ErrorCodes.Retryable, cloudCode: "ResourceRequestsThrottled", throttle: true },
    ],
    [
      "AuthorizationFailed",
      () => azureError(403, "AuthorizationFailed", "The client does not have authorization"),
      { code: ErrorCodes.Permanent, cloudCode: "AuthorizationFailed" },
    ],
    [
      "a 409 conflict (another operation in progress)",
      () =>
        azureError(409, "AnotherOperationInProgress", "Another operation on this resource is in progress."),
      { code: ErrorCodes.Retryable, cloudCode: "AnotherOperationInProgress" },
    ],
    [
      "an unknown code: the status decides",
      () => azureError(422, "SomethingElse", "nope"),
      { code: ErrorCodes.InvalidInput, cloudCode: "SomethingElse" },
    ],
    [
      "REQUEST_SEND_ERROR (no response)",
      () => azureError(undefined, RestError.REQUEST_SEND_ERROR, "getaddrinfo ENOTFOUND management.azure.com"),
      { code: ErrorCodes.Retryable, cloudCode: "REQUEST_SEND_ERROR" },
    ],
    [
      "wrapped in a cause",
      () => new Error("poller failed", { cause: azureError(500, "InternalServerError", "oops") }),
      { code: ErrorCodes.Retryable, cloudCode: "InternalServerError" },
    ],
  ];
  it.each(cases)("%s", (_name, make, expected) => {
    const raw = make();
    expectMapped(fromAzureError(raw, NOW), expected);
  });

  it("never copies the request's Authorization header", () => {
    const error = fromAzureError(
      azureError(401, "InvalidAuthenticationToken", "The access token is invalid."),
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toBe("InvalidAuthenticationToken: The access token is invalid.");
    expect(error.message).not.toContain("eyJ");
  });

  it("returns a VirtualNodeError unchanged; a plain error is retryable", () => {
    const typed = new InvalidInputError("bad");
    expect(fromAzureError(typed)).toBe(typed);
    expect(fromAzureError(new TypeError("fetch failed"))).toBeInstanceOf(RetryableError);
  });
});

// ---- Google -----------------------------------------------------------------------------------

// google.rpc.Status and RetryInfo, enough to encode `grpc-status-details-bin` as a server does.
const rpcRoot = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: { fields: { type_url: { type: "string", id: 1 }, value: { type: "bytes", id: 2 } } },
            Duration: { fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } } },
          },
        },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: "int32", id: 1 },
                message: { type: "string", id: 2 },
                details: { rule: "repeated", type: "google.protobuf.Any", id: 3 },
              },
            },
            RetryInfo: { fields: { retryDelay: { type: "google.protobuf.Duration", id: 1 } } },
          },
        },
      },
    },
  },
});

function grpcError(
  name: keyof typeof Status,
  message: string,
  retryDelay?: { seconds: number; nanos: number },
) {
  const code = Status[name];
  const error = new GoogleError(`${String(code)} ${name}: ${message}`);
  error.code = code;
  const metadata = new grpc.Metadata();
  // gax types `metadata` with its own interface; at runtime it is grpc-js's Metadata, as here.
  Object.assign(error, { metadata });
  if (retryDelay !== undefined) {
    const info = rpcRoot.lookupType("google.rpc.RetryInfo").encode({ retryDelay }).finish();
    const status = rpcRoot
      .lookupType("google.rpc.Status")
      .encode({
        code,
        message,
        details: [{ type_url: "type.googleapis.com/google.rpc.RetryInfo", value: info }],
      })
      .finish();
    metadata.set("grpc-status-details-bin", Buffer.from(status));
  }
  return GoogleError.parseGRPCStatusDetails(error);
}

const restError = (body: object) => GoogleError.parseHttpError(structuredClone(body));

describe("fromGoogleError", () => {
  const cases: [string, () => unknown, Expected][] = [
    [
      "gRPC RESOURCE_EXHAUSTED with RetryInfo in grpc-status-details-bin",
      () => grpcError("RESOURCE_EXHAUSTED", "Quota exceeded", { seconds: 2, nanos: 500_000_000 }),
      {
        code: ErrorCodes.Retryable,
        cloudCode: "RESOURCE_EXHAUSTED",
        throttle: true,
        retryAfterMs: 2_500,
        message: /^RESOURCE_EXHAUSTED: Quota exceeded$/,
      },
    ],
    [
      "gRPC NOT_FOUND",
      () => grpcError("NOT_FOUND", "Service not found"),
      { code: ErrorCodes.NotFound, cloudCode: "NOT_FOUND" },
    ],
    [
      "gRPC INVALID_ARGUMENT",
      () => grpcError("INVALID_ARGUMENT", "bad memory"),
      { code: ErrorCodes.InvalidInput, cloudCode: "INVALID_ARGUMENT" },
    ],
    [
      "gRPC FAILED_PRECONDITION",
      () => grpcError("FAILED_PRECONDITION", "not ready"),
      { code: ErrorCodes.InvalidInput, cloudCode: "FAILED_PRECONDITION" },
    ],
    [
      "gRPC UNAVAILABLE",
      () => grpcError("UNAVAILABLE", "try later"),
      { code: ErrorCodes.Retryable, cloudCode: "UNAVAILABLE" },
    ],
    [
      "gRPC DEADLINE_EXCEEDED",
      () => grpcError("DEADLINE_EXCEEDED", "deadline"),
      { code: ErrorCodes.Retryable, cloudCode: "DEADLINE_EXCEEDED" },
    ],
    [
      "gRPC ABORTED",
      () => grpcError("ABORTED", "etag"),
      { code: ErrorCodes.Retryable, cloudCode: "ABORTED" },
    ],
    [
      "gRPC PERMISSION_DENIED",
      () => grpcError("PERMISSION_DENIED", "run.services.create denied"),
      { code: ErrorCodes.Permanent, cloudCode: "PERMISSION_DENIED" },
    ],
    [
      "gRPC ALREADY_EXISTS",
      () => grpcError("ALREADY_EXISTS", "exists"),
      { code: ErrorCodes.Permanent, cloudCode: "ALREADY_EXISTS" },
    ],
    [
      "gRPC UNIMPLEMENTED",
      () => grpcError("UNIMPLEMENTED", "no"),
      { code: ErrorCodes.Unsupported, cloudCode: "UNIMPLEMENTED" },
    ],
    [
      "REST fallback: HTTP 429 + RESOURCE_EXHAUSTED + RetryInfo (AIP-193 JSON)",
      () =>
        restError({
          error: {
            code: 429,
            message: "Quota exceeded for quota metric 'Write requests'",
            status: "RESOURCE_EXHAUSTED",
            details: [
              { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "30s" },
              {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                reason: "RATE_LIMIT_EXCEEDED",
                domain: "googleapis.com",
              },
            ],
          },
        }),
      { code: ErrorCodes.Retryable, cloudCode: "RESOURCE_EXHAUSTED", throttle: true, retryAfterMs: 30_000 },
    ],
    [
      "REST fallback: HTTP 404 NOT_FOUND",
      () => restError({ error: { code: 404, message: "Resource 'svc' was not found", status: "NOT_FOUND" } }),
      { code: ErrorCodes.NotFound, cloudCode: "NOT_FOUND" },
    ],
    [
      "the raw AIP-193 JSON body, RetryInfo as a JSON duration",
      () => ({
        error: {
          code: 503,
          message: "The service is currently unavailable.",
          status: "UNAVAILABLE",
          details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "1.5s" }],
        },
      }),
      { code: ErrorCodes.Retryable, cloudCode: "UNAVAILABLE", retryAfterMs: 1_500 },
    ],
    [
      "an HTTP-only error (no status name): the status rule",
      () => ({ code: 403, message: "Forbidden" }),
      { code: ErrorCodes.Permanent, cloudCode: undefined },
    ],
    [
      "wrapped in a cause",
      () => new Error("create service", { cause: grpcError("NOT_FOUND", "gone") }),
      { code: ErrorCodes.NotFound, cloudCode: "NOT_FOUND" },
    ],
    [
      "a gax timeout without a code",
      () => new GoogleError("Total timeout of API google.cloud.run.v2.Services exceeded 60000 milliseconds"),
      { code: ErrorCodes.Retryable, cloudCode: undefined },
    ],
  ];
  it.each(cases)("%s", (_name, make, expected) => {
    expectMapped(fromGoogleError(make()), expected);
  });

  it("maps every gRPC status number", () => {
    const types = Array.from({ length: 17 }, (_, code) => fromGoogleError({ code, message: "x" }).code);
    expect(types).toEqual([
      ErrorCodes.Retryable, // OK (not an error; treated as unknown)
      ErrorCodes.Retryable, // CANCELLED
      ErrorCodes.Retryable, // UNKNOWN
      ErrorCodes.InvalidInput,
      ErrorCodes.Retryable,
      ErrorCodes.NotFound,
      ErrorCodes.Permanent,
      ErrorCodes.Permanent,
      ErrorCodes.Retryable,
      ErrorCodes.InvalidInput,
      ErrorCodes.Retryable,
      ErrorCodes.InvalidInput,
      ErrorCodes.Unsupported,
      ErrorCodes.Retryable,
      ErrorCodes.Retryable,
      ErrorCodes.Permanent,
      ErrorCodes.Permanent,
    ]);
  });

  it("returns a VirtualNodeError unchanged; a Node system error is retryable", () => {
    const typed = new UnsupportedError("no");
    expect(fromGoogleError(typed)).toBe(typed);
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    expect(fromGoogleError(reset)).toBeInstanceOf(RetryableError);
  });
});
