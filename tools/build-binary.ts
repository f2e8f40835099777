/**
 * Builds the single executable: `bun tools/build-binary.ts [--outfile dist/edgespec]`.
 * One file with the Bun runtime, the CLI, the reference model (fp32), onnxruntime's wasm assets and
 * the drafter kernels (wasm/pkg); it runs `serve` and `generate` from any folder.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { PARSER_HEADER_LIMIT } from "../src/server/body.ts";

const { values } = parseArgs({ options: { outfile: { type: "string", default: "dist/edgespec" }, target: { type: "string" } } });
const root = new URL("..", import.meta.url).pathname;
const cmd = [process.execPath, "build", "--compile", "tools/build-binary.entry.ts", "tools/build-binary.worker.ts", "--outfile", values.outfile!];
// Bun's HTTP parser above the app's header limit, so the app's JSON 431 answers (src/server/body.ts).
cmd.push(`--compile-exec-argv=--max-http-header-size=${PARSER_HEADER_LIMIT}`);
if (values.target) cmd.push(`--target=${values.target}`);
const t0 = performance.now();
const p = Bun.spawnSync(cmd, { cwd: root, stdout: "inherit", stderr: "inherit" });
if (p.exitCode !== 0) {
  console.error(`build-binary: bun build --compile failed (exit ${p.exitCode})`);
  process.exit(1);
}
const size = Bun.file(resolve(root, values.outfile!)).size;
console.error(`build-binary: ${values.outfile} (${(size / 2 ** 20).toFixed(1)} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
