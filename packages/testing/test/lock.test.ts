import { writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { ErrorCode } from "../src/errors.js";
import { acquireLock } from "../src/lock.js";
import { sleep, tempDir } from "./helpers/temp.js";

describe("build lock", () => {
  it("is exclusive: a second taker waits for the release", async () => {
    const path = join(await tempDir(), "x.lock");
    const release = await acquireLock(path);
    let secondGotIt = false;
    const second = acquireLock(path, { pollMs: 20 }).then((r) => {
      secondGotIt = true;
      return r;
    });
    await sleep(150);
    expect(secondGotIt).toBe(false);
    await release();
    const releaseSecond = await second;
    expect(secondGotIt).toBe(true);
    await releaseSecond();
  });

  it("takes over a lock whose owner is dead", async () => {
    const path = join(await tempDir(), "x.lock");
    await writeFile(path, JSON.stringify({ pid: 2 ** 22 + 12345, hostname: hostname(), startedAt: "then" }));
    const release = await acquireLock(path, { pollMs: 20, timeoutMs: 2000 });
    await release();
  });

  it("times out while a live owner holds it", async () => {
    const path = join(await tempDir(), "x.lock");
    const release = await acquireLock(path);
    await expect(acquireLock(path, { pollMs: 20, timeoutMs: 100 })).rejects.toMatchObject({
      code: ErrorCode.LockTimeout,
    });
    await release();
  });
});
