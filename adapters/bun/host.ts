/** Host for Bun: Bun.file for reads, onnxruntime-web's node build (wasm, worker threads). */
import { readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadNativeOrt } from "../native/ort.ts";
import { captureWasmRuntime, wasmRuntimeInstance } from "../ort-wasm/index.ts";
import type { Device, Host, OrtModule } from "../../src/host.ts";
import { DEFAULT_MODEL } from "../../src/model/shipped.ts";
import { KERNELS_WASM_PATH } from "../../src/drafters/kernels/wasm/loader.ts";

const MODEL_DIR = fileURLToPath(new URL(`../../models/${DEFAULT_MODEL}`, import.meta.url));

async function kind(path: string): Promise<"file" | "dir" | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? "file" : s.isDirectory() ? "dir" : undefined;
  } catch {
    return undefined;
  }
}

/** `url` where it names a file that exists (the single binary's own files do not, on the disk). */
function existing(url: URL): string | undefined {
  return existsSync(fileURLToPath(url)) ? url.href : undefined;
}

export const bunHost: Host = {
  runtime: "bun",
  async readFile(path) {
    const f = Bun.file(path);
    if (!(await f.exists())) throw new Error(`file not found: ${path}`);
    return new Uint8Array(await f.arrayBuffer());
  },
  isFile: async (path) => (await kind(path)) === "file",
  fileSize: (path) => stat(path).then((s) => (s.isFile() ? s.size : undefined), () => undefined),
  isDirectory: async (path) => (await kind(path)) === "dir",
  join: (...parts) => join(...parts),
  async loadOrt(device: Device): Promise<OrtModule> {
    if (device === "cpu") return loadNativeOrt();
    // Bun has no navigator.gpu, so only the wasm build is ever needed here.
    const ort = (await import("onnxruntime-web")) as unknown as OrtModule;
    captureWasmRuntime(ort, (specifier) => import.meta.resolve(specifier), existing(new URL("../ort-wasm/capture.mjs", import.meta.url)));
    return ort;
  },
  ortWasmInstance: wasmRuntimeInstance,
  webGpuAdapter: async () => undefined,
  defaultModelDir: () => MODEL_DIR,
  hardwareConcurrency: () => availableParallelism(),
  async drafterKernels() {
    return new Uint8Array(await readFile(join(fileURLToPath(new URL("../..", import.meta.url)), KERNELS_WASM_PATH)));
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
