import { errorCode } from "@virtual-node/core";
import { describe, expect, it } from "vitest";
import {
  MarkerScanner,
  directCommand,
  operationFailure,
  shellLine,
  shellQuote,
  validateOptions,
} from "../src/index.js";
import type { AciProviderOptions } from "../src/index.js";

const good: AciProviderOptions = {
  subscriptionId: "00000000-0000-0000-0000-000000000000",
  resourceGroup: "vn-rg",
  region: "westeurope",
};

describe("options", () => {
  it("accepts good options", () => {
    expect(() => {
      validateOptions(good);
    }).not.toThrow();
  });
  const bad: [string, Partial<AciProviderOptions>][] = [
    ["options.subscriptionId", { subscriptionId: "nope" }],
    ["options.resourceGroup", { resourceGroup: "bad/name" }],
    ["options.region", { region: "west europe" }],
    ["options.subnetIds[0]", { subnetIds: ["subnet-1"] }],
    ["options.defaultIdentity", { defaultIdentity: "id" }],
    ["options.gpuSku", { gpuSku: "H100" as never }],
    ["options.execMode", { execMode: "ssh" as never }],
    ["options.provisioningDeadlineMs", { provisioningDeadlineMs: -1 }],
  ];
  for (const [field, patch] of bad) {
    it(`rejects a bad ${field}, naming it`, () => {
      let error: unknown;
      try {
        validateOptions({ ...good, ...patch });
      } catch (e) {
        error = e;
      }
      expect(errorCode(error)).toBe("VN_INVALID_INPUT");
      expect((error as { field?: string }).field).toBe(field);
    });
  }
});

describe("exec helpers", () => {
  it("single-quotes arguments so sh gives them back exactly", () => {
    expect(shellQuote("it's a b")).toBe(`'it'\\''s a b'`);
    expect(shellLine(["echo", "a  b"], "__M_")).toBe(`'echo' 'a  b'; printf '\\n__M_%d\\n' $?; exit\n`);
  });
  it("direct mode rejects arguments ACI would split", () => {
    expect(directCommand(["ls", "-la", "/tmp"])).toBe("ls -la /tmp");
    expect(errorCode(catching(() => directCommand(["echo", "a b"])))).toBe("VN_INVALID_INPUT");
  });
  it("finds the exit marker across chunk boundaries and keeps the output before it", () => {
    const s = new MarkerScanner("__VN_EXIT_abc_");
    let out = "";
    for (const chunk of ["hello wor", "ld\n\n__VN_EX", "IT_abc_4", "2\n"]) out += s.push(chunk);
    expect(s.exitCode).toBe(42);
    expect(out).toBe("hello world\n");
  });
  it("passes output through when no marker comes", () => {
    const s = new MarkerScanner("__VN_EXIT_abc_");
    const out = s.push("x".repeat(100)) + s.flush();
    expect(out).toBe("x".repeat(100));
    expect(s.exitCode).toBeUndefined();
  });
});

function catching(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("operationFailure (a failed ARM long-running operation → a typed error)", () => {
  const lro = (code: string, message: string) =>
    new Error(`The long-running operation has failed. ${code}. ${message}`);
  const cases: [string, Error, string, string][] = [
    [
      "InaccessibleImage: the request's fault",
      lro("InaccessibleImage", "The image 'sim/x' in container group 'g' is not accessible."),
      "VN_INVALID_INPUT",
      "InaccessibleImage",
    ],
    [
      "InternalServerError: retryable",
      lro("InternalServerError", "try again"),
      "VN_RETRYABLE",
      "InternalServerError",
    ],
    [
      "AuthorizationFailed: permanent",
      lro("AuthorizationFailed", "no write permission"),
      "VN_PERMANENT",
      "AuthorizationFailed",
    ],
    [
      "throttled inside the operation",
      lro("SubscriptionRequestsThrottled", "slow down"),
      "VN_RETRYABLE",
      "SubscriptionRequestsThrottled",
    ],
  ];
  it.each(cases)("%s", (_title, error, code, cloudCode) => {
    const mapped = operationFailure(error, 0);
    expect(errorCode(mapped)).toBe(code);
    expect(mapped.cloudCode).toBe(cloudCode);
    expect(mapped.message.startsWith(`${cloudCode}: `)).toBe(true);
  });
  it("anything else goes through the kit's Azure mapping unchanged", () => {
    expect(errorCode(operationFailure(new Error("socket hang up"), 0))).toBe("VN_RETRYABLE");
  });
});
