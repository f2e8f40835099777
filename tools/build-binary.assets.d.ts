// Files imported `with { type: "file" }` in tools/build-binary.entry.ts: Bun gives their path.
declare module "*.onnx" {
  const path: string;
  export default path;
}
declare module "*.wasm" {
  const path: string;
  export default path;
}
declare module "*/ort-wasm-simd-threaded.mjs" {
  const path: string;
  export default path;
}
declare module "*.bin" {
  const path: string;
  export default path;
}
declare module "*.escorpus" {
  const path: string;
  export default path;
}
