import { createServer } from "node:net";

import { describe, expect, it } from "vitest";

import { allocatePort, allocatePorts, isAddressInUse } from "../src/ports.js";

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => {
      resolve(false);
    });
    server.listen(port, "127.0.0.1", () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

describe("ports", () => {
  it("allocates distinct, bindable loopback ports", async () => {
    const ports = await allocatePorts(8);
    expect(ports).toHaveLength(8);
    expect(new Set(ports).size).toBe(8);
    for (const port of ports) {
      expect(port).toBeGreaterThan(0);
      expect(port).toBeLessThan(65536);
      expect(await canListen(port)).toBe(true);
    }
  });

  it("allocates a single port", async () => {
    expect(await canListen(await allocatePort())).toBe(true);
  });

  it("rejects a negative count", async () => {
    await expect(allocatePorts(-1)).rejects.toThrow(RangeError);
  });

  it("recognises bind failures in component logs", () => {
    expect(isAddressInUse("listen tcp 127.0.0.1:6443: bind: address already in use")).toBe(true);
    expect(
      isAddressInUse('{"level":"fatal","msg":"listen tcp 127.0.0.1:2379: bind: address already in use"}'),
    ).toBe(true);
    expect(isAddressInUse("serving securely on 127.0.0.1:6443")).toBe(false);
  });
});
