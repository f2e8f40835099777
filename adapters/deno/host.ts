/** Host for Deno: Deno.readFile, navigator.gpu for WebGPU (llvmpipe works with mesa-vulkan-drivers). */
import { loadNativeOrt } from "../native/ort.ts";
import { captureWasmRuntime, wasmRuntimeInstance } from "../ort-wasm/index.ts";
import type { Device, Host, OrtModule, WebGpuAdapter } from "../../src/host.ts";
import { navigatorGpuAdapter } from "../web/gpu.ts";
import { DEFAULT_MODEL } from "../../src/model/shipped.ts";
import { KERNELS_WASM_PATH } from "../../src/drafters/kernels/wasm/loader.ts";
import { EdgespecError, isPermissionRefusal } from "../../src/errors.ts";
import { joinPosix } from "../../src/paths.ts";

declare const Deno: {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  stat(path: string): Promise<{ isFile: boolean; isDirectory: boolean; size: number }>;
  statSync(path: string): { isFile: boolean };
  readDir(path: string): AsyncIterable<{ name: string; isFile: boolean; isDirectory: boolean }>;
  pid: number;
};

// The package root, whether this module runs from adapters/deno or from the bundle in dist/.
const ROOT = new URL(import.meta.url.includes("/adapters/deno/") ? "../../" : "../", import.meta.url);
const packagePath = (rel: string) => decodeURIComponent(new URL(rel, ROOT).pathname);
const MODEL_DIR = packagePath(`models/${DEFAULT_MODEL}`);

async function kind(path: string, what?: string): Promise<"file" | "dir" | undefined> {
  try {
    const s = await Deno.stat(path);
    return s.isFile ? "file" : s.isDirectory ? "dir" : undefined;
  } catch (e) {
    // Deno without --allow-read refuses the stat: say so, rather than "not found".
    if (isPermissionRefusal(e)) {
      throw new EdgespecError("permission_denied", `Deno may not read ${path}${what ? ` (${what})` : ""}: run with --allow-read (or -A)`, { cause: e });
    }
    return undefined;
  }
}

let gpu: Promise<WebGpuAdapter | undefined> | undefined;

/**
 * onnxruntime-web reads its .wasm itself when its runtime starts; refused (Deno with --allow-read
 * for the model folder only), Emscripten prints "failed to asynchronously prepare wasm" and
 * "Aborted(NotCapable …)" with console.error (captured when its module starts, with no option to
 * redirect it: ort.env.logLevel is onnxruntime's own log, not this) before the session fails. So
 * the file is checked here first: the refusal is one permission_denied line, and a terminal's
 * --allow-read prompt still comes. Where the file cannot be resolved, nothing is checked (the load's
 * own mapping of a refusal still names it).
 */
async function checkOrtWasmReadable(specifier: string): Promise<void> {
  let path: string;
  try {
    path = decodeURIComponent(new URL(import.meta.resolve(specifier)).pathname);
  } catch {
    return;
  }
  await kind(path, "onnxruntime's WebAssembly");
}

/** The file: URL of `path` where it is a file (checked with --allow-read, which the runtime's .wasm needs too). */
function existingFile(path: string): string | undefined {
  try {
    return Deno.statSync(path).isFile ? new URL(`file://${path}`).href : undefined;
  } catch {
    return undefined;
  }
}

export const denoHost: Host = {
  runtime: "deno",
  readFile: (path) => Deno.readFile(path),
  isFile: async (path) => (await kind(path)) === "file",
  fileSize: (path) => Deno.stat(path).then((s) => (s.isFile ? s.size : undefined), () => undefined),
  isDirectory: async (path) => (await kind(path)) === "dir",
  join: (...parts) => joinPosix(...parts),
  async loadOrt(device: Device): Promise<OrtModule> {
    if (device === "cpu") return loadNativeOrt();
    if (device === "webgpu") {
      await checkOrtWasmReadable("onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm");
      const ort = (await import("onnxruntime-web/webgpu")) as unknown as OrtModule;
      // The bundle build's worker threads need blob: URL imports, which Deno refuses (set once,
      // before its first session; WebGPU sessions take no thread count of their own).
      ort.env.wasm.numThreads ||= 1;
      return ort;
    }
    await checkOrtWasmReadable("onnxruntime-web/ort-wasm-simd-threaded.wasm");
    const ort = (await import("onnxruntime-web")) as unknown as OrtModule;
    captureWasmRuntime(ort, (specifier) => import.meta.resolve(specifier), existingFile(packagePath("adapters/ort-wasm/capture.mjs")));
    return ort;
  },
  ortWasmInstance: wasmRuntimeInstance,
  webGpuAdapter() {
    gpu ??= navigatorGpuAdapter();
    return gpu;
  },
  defaultModelDir: () => MODEL_DIR,
  hardwareConcurrency: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
  drafterKernels: () => Deno.readFile(packagePath(KERNELS_WASM_PATH)),
  async listFiles(dir) {
    const out: string[] = [];
    const walk = async (d: string) => {
      for await (const e of Deno.readDir(d)) {
        const p = `${d}/${e.name}`;
        if (e.isDirectory) await walk(p);
        else if (e.isFile) out.push(p);
      }
    };
    await walk(dir.replace(/\/+$/, ""));
    return out.sort();
  },
  async writeFile(path, bytes) {
    const tmp = `${path}.tmp-${Deno.pid}`;
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  },
};
