// onnxruntime-web imports this module in place of its WebAssembly runtime's factory
// (env.wasm.wasmPaths.mjs, set by ./index.ts): it makes the same runtime and keeps its instance,
// which src/model/wasm-session-runner.ts runs sessions on through the C API. Plain JavaScript, so
// that every runtime imports it as it is (Node included, which onnxruntime-web imports it under).
import factory from "onnxruntime-web/ort-wasm-simd-threaded.mjs";

let instance;

export default async function capturingFactory(config) {
  instance = await factory(config);
  return instance;
}

/** The runtime's instance, once onnxruntime-web has started it through this module. */
export function capturedInstance() {
  return instance;
}
