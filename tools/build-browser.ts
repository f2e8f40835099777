/**
 * Builds the browser bundle: `bun tools/build-browser.ts [--outdir dist/browser]` writes
 *   edgespec-browser.mjs          one ES module (esbuild, platform browser): open(), edgespecApp, …
 *   ort-wasm-simd-threaded.wasm       onnxruntime-web's wasm, found beside the bundle
 *   ort-wasm-simd-threaded.asyncify.wasm  its WebGPU build's (fetched only when a page runs on WebGPU)
 * Models are not included: pages pass a model folder's URL to open().
 */
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { bundleForWeb } from "./bundle-web.ts";

const { values } = parseArgs({ options: { outdir: { type: "string", default: "dist/browser" } } });
const root = new URL("..", import.meta.url).pathname;
const out = resolve(root, values.outdir!);
const t0 = performance.now();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await bundleForWeb(join(root, "adapters/browser/index.ts"), join(out, "edgespec-browser.mjs"));
for (const wasm of ["ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.asyncify.wasm"]) copyFileSync(join(root, "node_modules/onnxruntime-web/dist", wasm), join(out, wasm));
console.error(`build-browser: ${out}/edgespec-browser.mjs in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
