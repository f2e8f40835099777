import { pipedStdin, stdinLines } from "./stdin.ts";
import { runCli } from "../../src/cli/main.ts";
import { nodeServeRuntime } from "./serve.ts";
import { nodeHost } from "./host.ts";
import { quietOnClosedPipe } from "./stdout.ts";

quietOnClosedPipe();
process.exitCode = await runCli(nodeHost, process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  debug: process.env.EDGESPEC_DEBUG === "1",
  stdin: pipedStdin,
  lines: stdinLines,
  interactive: !!process.stdin.isTTY,
  progressBar: !!process.stderr.isTTY,
}, { serve: nodeServeRuntime });
