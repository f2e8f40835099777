/**
 * Entry point of the single executable (`bun build --compile`, see tools/build-binary.ts): the
 * edgespec CLI on Bun with the reference model (fp32), onnxruntime's wasm assets and the drafter
 * kernels embedded (build-binary.host.ts), so `edgespec serve` and `edgespec generate` run with
 * nothing beside the file. `serve` runs the model in build-binary.worker.ts, compiled in as a
 * second entry point.
 */
import { bunServeRuntime } from "../adapters/bun/serve.ts";
import { threadWorkerEndpoint } from "../adapters/worker/threads.ts";
import { pipedStdin, stdinLines } from "../adapters/node/stdin.ts";
import { runCli } from "../src/cli/main.ts";
import { REFERENCE_MODEL } from "../src/model/shipped.ts";
import { embeddedHost } from "./build-binary.host.ts";

const serve = { ...bunServeRuntime, modelWorker: () => threadWorkerEndpoint(new URL("./build-binary.worker.ts", import.meta.url)) };

process.exitCode = await runCli(embeddedHost, process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  debug: process.env.EDGESPEC_DEBUG === "1",
  stdin: pipedStdin,
  lines: stdinLines,
  interactive: !!process.stdin.isTTY,
  progressBar: !!process.stderr.isTTY,
}, { serve, shippedModels: [REFERENCE_MODEL] }); // --model names only what it embeds
