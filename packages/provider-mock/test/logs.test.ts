/**
 * The mock's logs over the kit's `followLogsByPolling`, on a fake clock shared by the cloud and the
 * hooks: a followed run that restarts is finished from `previous`, and the stream never shows the
 * next run.
 */
import { FakeClock } from "@virtual-node/core";
import type { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { MockAnnotations, MockCloud, createMockProvider } from "../src/index.js";
import { signal, testPod } from "./pods.js";

const clouds: MockCloud[] = [];
afterEach(() => {
  for (const c of clouds.splice(0)) c.dispose();
});

function collect(stream: Readable): { text: () => string; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("error", reject);
  });
  return { text: () => Buffer.concat(chunks).toString("utf8"), ended };
}

async function setup(annotations: Record<string, string>) {
  const clock = new FakeClock();
  const cloud = new MockCloud({ clock, logs: { intervalMs: 100, maxLines: 1000 } });
  clouds.push(cloud);
  const provider = createMockProvider({ cloud, kubeletHooks: { clock, pollIntervalMs: 250 } });
  const pod = testPod({ annotations });
  await provider.createPod(pod, signal());
  return { clock, provider, ref: pod.ref };
}

describe("mock logs on the kit", () => {
  it("follows one run to its end when the container restarts between polls", async () => {
    // Runs of 1 s; the first restart is immediate, so the poll after 1 s finds a new run.
    const { clock, provider, ref } = await setup({ [MockAnnotations.runDuration]: "1s" });
    const out = collect(
      await provider.getContainerLogs(
        ref,
        "app",
        { follow: true, timestamps: false, previous: false },
        signal(),
      ),
    );
    for (let i = 0; i < 8 && clock.pendingTimers > 0; i++) await clock.advanceAsync(250);
    await out.ended;
    const lines = out.text().trimEnd().split("\n");
    expect(lines[0]).toBe("starting app (image busybox:1.36)");
    expect(lines.slice(1, -1)).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 1} from app`));
    expect(lines.at(-1)).toBe("app exited with code 0");
    const status = await provider.getPodStatus(ref, signal());
    expect(status?.containers[0]?.restartCount).toBe(1); // the next run is there, but not in this log
  });

  it("applies sinceSeconds and limitBytes through the kit on the shared clock", async () => {
    const { clock, provider, ref } = await setup({});
    await clock.advanceAsync(1000);
    const since = collect(
      await provider.getContainerLogs(
        ref,
        "app",
        { follow: false, timestamps: true, previous: false, sinceSeconds: 0.25 },
        signal(),
      ),
    );
    await since.ended;
    expect(since.text()).toBe(
      [
        "2024-01-01T00:00:00.8Z line 8 from app",
        "2024-01-01T00:00:00.9Z line 9 from app",
        "2024-01-01T00:00:01Z line 10 from app",
        "",
      ].join("\n"),
    );
    const limited = collect(
      await provider.getContainerLogs(
        ref,
        "app",
        { follow: true, timestamps: false, previous: false, limitBytes: 12 },
        signal(),
      ),
    );
    await limited.ended;
    expect(limited.text()).toBe("starting app");
  });
});
