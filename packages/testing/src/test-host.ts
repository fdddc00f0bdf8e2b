/**
 * A test-host address that is not loopback, for the few things Kubernetes refuses on loopback (the
 * API server's node proxy, Endpoints of an aggregated API). It lives on a veth pair to a network
 * namespace the harness creates itself, so test traffic never goes to the machine's real network
 * interfaces. Needs root and iproute2 (`ip`); created once, reused by later runs.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ErrorCode, TestingError } from "./errors.js";

const run = promisify(execFile);

export const TEST_HOST_NAMESPACE = "vn-testhost";
/** The address on this side of the veth pair (in the root namespace). */
export const TEST_HOST_LOCAL_IP = "10.213.0.1";
/** The address inside the test-host namespace. */
export const TEST_HOST_PEER_IP = "10.213.0.2";

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await run("ip", args);
  return stdout;
}

/**
 * Makes sure the veth pair `vn-th0` (root namespace, {@link TEST_HOST_LOCAL_IP}) ↔ `vn-th1`
 * (namespace `vn-testhost`, {@link TEST_HOST_PEER_IP}) exists and is up; returns the local address.
 */
export async function ensureTestHostAddress(): Promise<string> {
  try {
    const existing = await ip("-4", "-o", "addr", "show", "dev", "vn-th0").catch(() => "");
    if (existing.includes(`${TEST_HOST_LOCAL_IP}/`)) return TEST_HOST_LOCAL_IP;
    const namespaces = await ip("netns", "list");
    if (!namespaces.split("\n").some((l) => l.split(" ")[0] === TEST_HOST_NAMESPACE)) {
      await ip("netns", "add", TEST_HOST_NAMESPACE);
    }
    await ip("link", "add", "vn-th0", "type", "veth", "peer", "name", "vn-th1").catch(() => "");
    await ip("link", "set", "vn-th1", "netns", TEST_HOST_NAMESPACE).catch(() => "");
    await ip("addr", "replace", `${TEST_HOST_LOCAL_IP}/30`, "dev", "vn-th0");
    await ip("link", "set", "vn-th0", "up");
    await ip("-n", TEST_HOST_NAMESPACE, "addr", "replace", `${TEST_HOST_PEER_IP}/30`, "dev", "vn-th1");
    await ip("-n", TEST_HOST_NAMESPACE, "link", "set", "vn-th1", "up");
    await ip("-n", TEST_HOST_NAMESPACE, "link", "set", "lo", "up");
    return TEST_HOST_LOCAL_IP;
  } catch (error) {
    throw new TestingError(
      ErrorCode.TestHostUnavailable,
      `could not create the test-host network (netns ${TEST_HOST_NAMESPACE}, veth vn-th0/vn-th1): ` +
        `this needs root and iproute2 (\`ip\`): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
