#!/usr/bin/env bun
import { pipedStdin, stdinLines } from "../node/stdin.ts";
import { runCli } from "../../src/cli/main.ts";
import { bunServeRuntime } from "./serve.ts";
import { bunHost } from "./host.ts";
import { quietOnClosedPipe } from "../node/stdout.ts";

quietOnClosedPipe();
process.exitCode = await runCli(bunHost, process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  debug: process.env.EDGESPEC_DEBUG === "1",
  stdin: pipedStdin,
  lines: stdinLines,
  interactive: !!process.stdin.isTTY,
  progressBar: !!process.stderr.isTTY,
}, { serve: bunServeRuntime });
