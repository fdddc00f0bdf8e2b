/**
 * The AWS simulator's HTTP front: one local server on 127.0.0.1 that speaks AWS JSON 1.1 for
 * ECS, CloudWatch Logs, Secrets Manager and SSM Parameter Store (routed on `X-Amz-Target`), validates every request
 * against the service's schema, records it, and injects faults (throttles, 5xx, errors).
 *
 * ECS and SSM requests are checked against the botocore models in the fixtures. The fixtures have no
 * botocore model for Logs or Secrets Manager, so those are checked against the Smithy schemas
 * that ship inside `@aws-sdk/client-cloudwatch-logs` / `@aws-sdk/client-secrets-manager`
 * (member names, types, required members; those schemas carry no enums or bounds).
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { CreateLogGroup$, DescribeLogGroups$, GetLogEvents$ } from "@aws-sdk/client-cloudwatch-logs";
import {
  CreateSecret$,
  DeleteSecret$,
  DescribeSecret$,
  GetSecretValue$,
  ListSecrets$,
  PutSecretValue$,
} from "@aws-sdk/client-secrets-manager";
import { systemClock } from "@virtual-node/core";
import type { Clock } from "@virtual-node/core";
import { BotocoreValidator } from "./botocore-validator.js";
import type { Violation } from "./botocore-validator.js";
import { SdkSchemaValidator } from "./sdk-schema-validator.js";
import { EcsState, SimError, setFargateTable } from "./ecs-state.js";
import type { EcsTimings } from "./ecs-state.js";
import { LogsState } from "./logs-state.js";
import { SecretsState } from "./secrets-state.js";
import { SsmState } from "./ssm-state.js";

/** Where the ECS fixtures are (copied into the package, see `test/fixtures/SOURCES.md`). */
export const ECS_FIXTURES = fileURLToPath(new URL("../fixtures/ecs", import.meta.url));
/** Where the SSM botocore model is (copied into the package, see `test/fixtures/SOURCES.md`). */
export const SSM_FIXTURES = fileURLToPath(new URL("../fixtures/ssm", import.meta.url));

type Json = Record<string, unknown>;

/** One request the simulator received. */
export interface RecordedRequest {
  service: "ecs" | "logs" | "secretsmanager" | "ssm";
  operation: string;
  body: Json;
  /** The raw body text, for scanning for secret values. */
  raw: string;
  status: number;
}

/** A planned failure for the next `count` calls of an operation. */
export interface PlannedFault {
  operation: string;
  count: number;
  type: string;
  status: number;
  message: string;
  /** Wrap the error type in another (e.g. a throttle inside InvalidParameterException). */
  retryAfterSeconds?: number;
}

export interface SimulatorOptions {
  clock?: Clock;
  region?: string;
  timings?: Partial<EcsTimings>;
  /** Clusters to create (default: `vn-test`). */
  clusters?: string[];
}

const ECS_PREFIX = "AmazonEC2ContainerServiceV20141113.";
const LOGS_PREFIX = "Logs_20140328.";
const SM_PREFIX = "secretsmanager.";
const SSM_PREFIX = "AmazonSSM.";

let ecsValidator: BotocoreValidator | undefined;
let ssmValidator: BotocoreValidator | undefined;

function ecsModel(): BotocoreValidator {
  ecsValidator ??= new BotocoreValidator(`${ECS_FIXTURES}/service-2.json`);
  return ecsValidator;
}

function ssmModel(): BotocoreValidator {
  ssmValidator ??= new BotocoreValidator(`${SSM_FIXTURES}/service-2.json`);
  return ssmValidator;
}

const logsValidator = new SdkSchemaValidator({
  GetLogEvents: GetLogEvents$,
  CreateLogGroup: CreateLogGroup$,
  DescribeLogGroups: DescribeLogGroups$,
});

const secretsValidator = new SdkSchemaValidator({
  CreateSecret: CreateSecret$,
  PutSecretValue: PutSecretValue$,
  DeleteSecret: DeleteSecret$,
  DescribeSecret: DescribeSecret$,
  GetSecretValue: GetSecretValue$,
  ListSecrets: ListSecrets$,
});

/** A running AWS simulator. */
export class AwsSimulator {
  readonly clock: Clock;
  readonly ecs: EcsState;
  readonly logs: LogsState;
  readonly secrets: SecretsState;
  readonly ssm: SsmState;
  readonly requests: RecordedRequest[] = [];
  readonly violations: Violation[] = [];
  readonly faults: PlannedFault[] = [];
  #server: Server | undefined;
  url = "";

  constructor(options: SimulatorOptions = {}) {
    this.clock = options.clock ?? systemClock;
    const region = options.region ?? "us-east-1";
    const table = JSON.parse(readFileSync(`${ECS_FIXTURES}/fargate-task-cpu-memory.json`, "utf8")) as {
      combinations: { cpu: number; memoryMiB: number[] }[];
    };
    setFargateTable(table.combinations);
    this.logs = new LogsState(this.clock);
    this.secrets = new SecretsState(this.clock, region);
    this.ssm = new SsmState(this.clock, region);
    this.ecs = new EcsState(this.clock, region, options.timings, {
      secretExists: (valueFrom) => this.secrets.resolves(valueFrom) || this.ssm.resolves(valueFrom),
      writeLog: (group, stream, time, message) => {
        this.logs.write(group, stream, time, message);
      },
    });
    for (const name of options.clusters ?? ["vn-test"]) this.ecs.addCluster(name);
  }

  /** Starts listening on 127.0.0.1 (an ephemeral port). */
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      void this.#handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }

  /** Makes the next `count` calls of `operation` fail with ECS's throttle error. */
  throttle(operation: string, count = 1, retryAfterSeconds?: number): void {
    this.faults.push({
      operation,
      count,
      type: "ThrottlingException",
      status: 400,
      message: "Rate exceeded",
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  }

  /** Makes the next `count` calls of `operation` fail with the given error. */
  fail(operation: string, type: string, message: string, count = 1, status = 400): void {
    this.faults.push({ operation, count, type, status, message });
  }

  /** Calls of one operation. */
  calls(operation: string): RecordedRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  /** Client options that point an AWS SDK client at this simulator. */
  clientConfig(): {
    region: string;
    endpoint: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  } {
    return {
      region: "us-east-1",
      endpoint: this.url,
      credentials: { accessKeyId: "AKIDSIMULATOR", secretAccessKey: "simulator-secret-key" },
      maxAttempts: 1,
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const target = String(req.headers["x-amz-target"] ?? "");
    const send = (status: number, body: Json, headers: Record<string, string> = {}): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        "content-type": "application/x-amz-json-1.1",
        "x-amzn-requestid": randomUUID(),
        ...headers,
      });
      res.end(text);
    };
    const error = (
      status: number,
      type: string,
      message: string,
      headers: Record<string, string> = {},
    ): void => {
      send(status, { __type: type, message }, headers);
    };

    let service: RecordedRequest["service"];
    let operation: string;
    if (target.startsWith(ECS_PREFIX)) {
      service = "ecs";
      operation = target.slice(ECS_PREFIX.length);
    } else if (target.startsWith(LOGS_PREFIX)) {
      service = "logs";
      operation = target.slice(LOGS_PREFIX.length);
    } else if (target.startsWith(SM_PREFIX)) {
      service = "secretsmanager";
      operation = target.slice(SM_PREFIX.length);
    } else if (target.startsWith(SSM_PREFIX)) {
      service = "ssm";
      operation = target.slice(SSM_PREFIX.length);
    } else {
      error(400, "UnknownOperationException", `unknown target ${target}`);
      return;
    }
    let body: Json;
    try {
      body = raw === "" ? {} : (JSON.parse(raw) as Json);
    } catch {
      this.requests.push({ service, operation, body: {}, raw, status: 400 });
      error(400, "SerializationException", "body is not JSON");
      return;
    }
    const record: RecordedRequest = { service, operation, body, raw, status: 200 };
    this.requests.push(record);

    if (
      req.method !== "POST" ||
      !String(req.headers["content-type"]).startsWith("application/x-amz-json-1.1")
    ) {
      record.status = 400;
      error(400, "SerializationException", "expected POST with application/x-amz-json-1.1");
      return;
    }
    if (!(req.headers.authorization ?? "").startsWith("AWS4-HMAC-SHA256 Credential=")) {
      record.status = 403;
      error(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
      return;
    }

    const validator =
      service === "ecs"
        ? ecsModel()
        : service === "ssm"
          ? ssmModel()
          : service === "logs"
            ? logsValidator
            : secretsValidator;
    const violations = validator.validate(operation, body);
    if (violations.length > 0) {
      this.violations.push(...violations);
      record.status = 400;
      const type = violations.some((v) => v.kind === "operation")
        ? "UnknownOperationException"
        : service === "ssm"
          ? "ValidationException"
          : "InvalidParameterException";
      error(400, type, violations.map((v) => `${v.path}: ${v.message}`).join("; "));
      return;
    }

    const fault = this.faults.find((f) => f.operation === operation && f.count > 0);
    if (fault !== undefined) {
      fault.count--;
      record.status = fault.status;
      error(
        fault.status,
        fault.type,
        fault.message,
        fault.retryAfterSeconds === undefined ? {} : { "retry-after": String(fault.retryAfterSeconds) },
      );
      return;
    }

    try {
      send(200, this.#dispatch(service, operation, body));
    } catch (e) {
      if (e instanceof SimError) {
        record.status = e.status;
        error(e.status, e.type, e.message);
        return;
      }
      record.status = 500;
      error(500, service === "ecs" ? "ServerException" : "InternalServiceError", String(e));
    }
  }

  #dispatch(service: RecordedRequest["service"], operation: string, body: Json): Json {
    if (service === "ecs") {
      const e = this.ecs;
      switch (operation) {
        case "DescribeClusters":
          return e.describeClusters(body);
        case "RegisterTaskDefinition":
          return e.registerTaskDefinition(body);
        case "DescribeTaskDefinition":
          return e.describeTaskDefinition(body);
        case "DeregisterTaskDefinition":
          return e.deregisterTaskDefinition(body);
        case "ListTaskDefinitions":
          return e.listTaskDefinitions(body);
        case "RunTask":
          return e.runTask(body);
        case "DescribeTasks":
          return e.describeTasks(body);
        case "ListTasks":
          return e.listTasks(body);
        case "StopTask":
          return e.stopTask(body);
        case "ListTagsForResource":
          return e.listTagsForResource(body);
        case "TagResource":
          return e.tagResource(body);
        default:
          throw new SimError(
            "UnsupportedOperationException",
            `the simulator does not implement ${operation}`,
          );
      }
    }
    if (service === "logs") {
      switch (operation) {
        case "GetLogEvents":
          return this.logs.getLogEvents(body);
        case "CreateLogGroup":
          return this.logs.createLogGroup(body);
        case "DescribeLogGroups":
          return this.logs.describeLogGroups(body);
        default:
          throw new SimError(
            "UnsupportedOperationException",
            `the simulator does not implement ${operation}`,
          );
      }
    }
    if (service === "ssm") {
      const m = this.ssm;
      switch (operation) {
        case "PutParameter":
          return m.putParameter(body);
        case "AddTagsToResource":
          return m.addTagsToResource(body);
        case "DescribeParameters":
          return m.describeParameters(body);
        case "DeleteParameters":
          return m.deleteParameters(body);
        case "GetParameters":
          return m.getParameters(body);
        default:
          throw new SimError(
            "UnsupportedOperationException",
            `the simulator does not implement ${operation}`,
          );
      }
    }
    const s = this.secrets;
    switch (operation) {
      case "CreateSecret":
        return s.createSecret(body);
      case "PutSecretValue":
        return s.putSecretValue(body);
      case "DeleteSecret":
        return s.deleteSecret(body);
      case "DescribeSecret":
        return s.describeSecret(body);
      case "GetSecretValue":
        return s.getSecretValue(body);
      case "ListSecrets":
        return s.listSecrets(body);
      default:
        throw new SimError("UnsupportedOperationException", `the simulator does not implement ${operation}`);
    }
  }
}

/** Starts a simulator on 127.0.0.1. */
export function startAwsSimulator(options: SimulatorOptions = {}): Promise<AwsSimulator> {
  return new AwsSimulator(options).start();
}
