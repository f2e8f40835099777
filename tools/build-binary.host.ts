/**
 * The single executable's Host (see build-binary.entry.ts): embedded files get hashed names under
 * Bun's virtual filesystem; this host maps the model's hub-layout paths onto them and points
 * onnxruntime at its embedded .mjs/.wasm. The CLI and its model worker both use it.
 */
import { join } from "node:path";
import { bunHost } from "../adapters/bun/host.ts";
import { EdgespecError } from "../src/errors.ts";
import type { Host } from "../src/host.ts";
import config from "../models/edgespec-tiny/config.json" with { type: "file" };
import generationConfig from "../models/edgespec-tiny/generation_config.json" with { type: "file" };
import tokenizer from "../models/edgespec-tiny/tokenizer.json" with { type: "file" };
import tokenizerConfig from "../models/edgespec-tiny/tokenizer_config.json" with { type: "file" };
import recycleTable from "../models/edgespec-tiny/recycle-table.bin" with { type: "file" };
import draftCorpus from "../models/edgespec-tiny/draft-corpus.escorpus" with { type: "file" };
import modelFp32 from "../models/edgespec-tiny/onnx/model.onnx" with { type: "file" };
import ortMjs from "../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.mjs" with { type: "file" };
import ortWasm from "../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm" with { type: "file" };
import kernelsWasm from "../wasm/pkg/edgespec_kernels.wasm" with { type: "file" };
import benchPrompts from "../bench/prompts.json" with { type: "file" };

const MODEL_DIR = "/embedded/edgespec-tiny";
const EMBEDDED: Record<string, string> = {
  [`${MODEL_DIR}/config.json`]: config as unknown as string,
  [`${MODEL_DIR}/generation_config.json`]: generationConfig as unknown as string,
  [`${MODEL_DIR}/tokenizer.json`]: tokenizer as unknown as string,
  [`${MODEL_DIR}/tokenizer_config.json`]: tokenizerConfig as unknown as string,
  [`${MODEL_DIR}/recycle-table.bin`]: recycleTable as unknown as string,
  [`${MODEL_DIR}/draft-corpus.escorpus`]: draftCorpus as unknown as string,
  [`${MODEL_DIR}/onnx/model.onnx`]: modelFp32,
  // `edgespec bench`'s default suite, where the CLI looks for it (two levels above the model).
  "/bench/prompts.json": benchPrompts as unknown as string,
};

export const embeddedHost: Host = {
  ...bunHost,
  runtime: "bun",
  async readFile(path) {
    return EMBEDDED[path] ? new Uint8Array(await Bun.file(EMBEDDED[path]).arrayBuffer()) : bunHost.readFile(path);
  },
  async isFile(path) {
    return path in EMBEDDED || (!path.startsWith(`${MODEL_DIR}/`) && bunHost.isFile(path));
  },
  async isDirectory(path) {
    return path === MODEL_DIR || path === `${MODEL_DIR}/onnx` || (!path.startsWith(`${MODEL_DIR}/`) && bunHost.isDirectory(path));
  },
  join,
  async loadOrt(device) {
    // A compiled binary's bare imports resolve in its own virtual filesystem, never a node_modules on
    // the disk, so installing onnxruntime-node (what the native loader's error advises) cannot help.
    if (device === "cpu") throw new EdgespecError("device_unavailable", "--device cpu needs onnxruntime-node, which the single binary cannot load: use --device wasm, or edgespec from npm with onnxruntime-node@1.30.0 installed");
    const ort = await bunHost.loadOrt(device);
    // Without this ort looks for its .mjs next to the bundle on the real filesystem and fails.
    ort.env.wasm.wasmPaths = { mjs: ortMjs, wasm: ortWasm };
    return ort;
  },
  defaultModelDir: () => MODEL_DIR,
  drafterKernels: async () => new Uint8Array(await Bun.file(kernelsWasm).arrayBuffer()),
};
