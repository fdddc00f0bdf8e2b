#!/usr/bin/env node
/** The `virtual-node` bin: process wiring around `runCli` (argv, streams, signals, exit code). */
import { describeError } from "@virtual-node/core";
import { ExitCodes } from "./exit-codes.js";
import { runCli } from "./main.js";

const controller = new AbortController();
let signalled = false;
for (const name of ["SIGTERM", "SIGINT"] as const) {
  process.on(name, () => {
    if (signalled) {
      process.stderr.write(`virtual-node: second ${name}, exiting without finishing the shutdown\n`);
      process.exit(ExitCodes.Forced);
    }
    signalled = true;
    controller.abort();
  });
}

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`virtual-node: ${describeError(error)}\n`);
    process.exitCode = ExitCodes.Failed;
  },
);
