/**
 * Builds the browser bundle: `bun tools/build-browser.ts [--outdir dist/browser]` writes
 *   edgespec-browser.mjs          one ES module (esbuild, platform browser): open(), edgespecApp, …
 *   ort-wasm-simd-threaded.wasm   onnxruntime-web's wasm, found beside the bundle
 * Models are not included: pages pass a model folder's URL to open().
 */
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { outdir: { type: "string", default: "dist/browser" } } });
const root = new URL("..", import.meta.url).pathname;
const out = resolve(root, values.outdir!);
const t0 = performance.now();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, "adapters/browser/index.ts")],
  outfile: join(out, "edgespec-browser.mjs"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  // Never reached on the wasm path, but referenced by onnxruntime's and the tokenizers' code.
  external: ["node:*"],
  logLevel: "warning",
});
copyFileSync(join(root, "node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm"), join(out, "ort-wasm-simd-threaded.wasm"));
console.error(`build-browser: ${out}/edgespec-browser.mjs in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
