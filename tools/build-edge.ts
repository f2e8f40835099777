/**
 * Builds the edge bundle: `bun tools/build-edge.ts [--outdir dist/edge]` writes
 *   edgespec-edge.mjs            one ES module (esbuild, platform browser), default export { fetch }
 *   edgespec-assets/             the reference model (fp32) in hub layout + onnxruntime's .wasm
 * Run it with `deno serve --allow-read --allow-env dist/edge/edgespec-edge.mjs`, or import it from any host
 * that calls a fetch handler.
 */
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { bundleForWeb } from "./bundle-web.ts";

const { values } = parseArgs({ options: { outdir: { type: "string", default: "dist/edge" } } });
const root = new URL("..", import.meta.url).pathname;
const out = resolve(root, values.outdir!);
const t0 = performance.now();
rmSync(out, { recursive: true, force: true });
await bundleForWeb(join(root, "adapters/edge/bundle-entry.ts"), join(out, "edgespec-edge.mjs"));
const model = join(root, "models/edgespec-tiny");
const assets = join(out, "edgespec-assets");
mkdirSync(join(assets, "edgespec-tiny/onnx"), { recursive: true });
for (const f of ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "recycle-table.bin", "draft-corpus.escorpus", "onnx/model.onnx"]) {
  copyFileSync(join(model, f), join(assets, "edgespec-tiny", f));
}
copyFileSync(join(root, "node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm"), join(assets, "ort-wasm-simd-threaded.wasm"));
console.error(`build-edge: ${out}/edgespec-edge.mjs + edgespec-assets/ in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
