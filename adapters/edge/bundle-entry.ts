/**
 * Entry of the edge bundle (tools/build-edge.ts): a module whose default export is `{ fetch }`,
 * the shape `deno serve` and worker hosts run. Its assets sit beside it in edgespec-assets/
 * (the model in hub layout, onnxruntime's .wasm), found through import.meta.url, which esbuild
 * leaves as it is.
 */
import { createEdgeHandler } from "./handler.ts";

const assets = new URL("./edgespec-assets/", import.meta.url);

export default createEdgeHandler({
  model: new URL("edgespec-tiny/", assets),
  ortWasm: new URL("ort-wasm-simd-threaded.wasm", assets),
});
