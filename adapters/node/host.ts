/** Host for Node: node:fs, onnxruntime-web's node build (wasm, worker threads). No WebGPU in ort-web on Node. */
import { readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadNativeOrt } from "../native/ort.ts";
import { captureWasmRuntime, wasmRuntimeInstance } from "../ort-wasm/index.ts";
import type { Device, Host, OrtModule } from "../../src/host.ts";
import { DEFAULT_MODEL } from "../../src/model/shipped.ts";
import { KERNELS_WASM_PATH } from "../../src/drafters/kernels/wasm/loader.ts";

async function kind(path: string): Promise<"file" | "dir" | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? "file" : s.isDirectory() ? "dir" : undefined;
  } catch {
    return undefined;
  }
}

/** The package root: found from this module, whether it runs from adapters/node or a bundle in dist/. */
function packageRoot(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  return here.includes("/adapters/node") ? join(here, "..", "..") : join(here, "..");
}

export const nodeHost: Host = {
  runtime: "node",
  async readFile(path) {
    return new Uint8Array(await readFile(path));
  },
  isFile: async (path) => (await kind(path)) === "file",
  fileSize: (path) => stat(path).then((s) => (s.isFile() ? s.size : undefined), () => undefined),
  isDirectory: async (path) => (await kind(path)) === "dir",
  join: (...parts) => join(...parts),
  async loadOrt(device: Device): Promise<OrtModule> {
    if (device === "cpu") return loadNativeOrt();
    const ort = (await import("onnxruntime-web")) as unknown as OrtModule;
    // From the package's root: this file runs as source or bundled into dist/.
    const capture = join(packageRoot(), "adapters", "ort-wasm", "capture.mjs");
    captureWasmRuntime(ort, (specifier) => import.meta.resolve(specifier), existsSync(capture) ? pathToFileURL(capture).href : undefined);
    return ort;
  },
  ortWasmInstance: wasmRuntimeInstance,
  webGpuAdapter: async () => undefined,
  defaultModelDir: () => join(packageRoot(), "models", DEFAULT_MODEL),
  hardwareConcurrency: () => availableParallelism(),
  async drafterKernels() {
    return new Uint8Array(await readFile(join(packageRoot(), KERNELS_WASM_PATH)));
  },
  async listFiles(dir) {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
  },
  async writeFile(path, bytes) {
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  },
};
