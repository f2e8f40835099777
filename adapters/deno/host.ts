/** Host for Deno: Deno.readFile, navigator.gpu for WebGPU (llvmpipe works with mesa-vulkan-drivers). */
import type { Device, Host, OrtModule } from "../../src/host.ts";

declare const Deno: {
  readFile(path: string): Promise<Uint8Array>;
  stat(path: string): Promise<{ isFile: boolean; isDirectory: boolean }>;
};

const MODEL_DIR = decodeURIComponent(new URL("../../models/edgespec-tiny", import.meta.url).pathname);

async function kind(path: string): Promise<"file" | "dir" | undefined> {
  try {
    const s = await Deno.stat(path);
    return s.isFile ? "file" : s.isDirectory ? "dir" : undefined;
  } catch {
    return undefined;
  }
}

let gpu: Promise<boolean> | undefined;

export const denoHost: Host = {
  runtime: "deno",
  readFile: (path) => Deno.readFile(path),
  isFile: async (path) => (await kind(path)) === "file",
  isDirectory: async (path) => (await kind(path)) === "dir",
  join: (...parts) => parts.join("/").replace(/\/+/g, "/"),
  async loadOrt(device: Device): Promise<OrtModule> {
    if (device === "webgpu") {
      const ort = (await import("onnxruntime-web/webgpu")) as unknown as OrtModule;
      // The bundle build's worker threads need blob: URL imports, which Deno refuses.
      ort.env.wasm.numThreads = 1;
      return ort;
    }
    return (await import("onnxruntime-web")) as unknown as OrtModule;
  },
  hasWebGPU() {
    gpu ??= (async () => {
      const nav = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator;
      if (!nav?.gpu) return false;
      try {
        return (await nav.gpu.requestAdapter()) != null;
      } catch {
        return false;
      }
    })();
    return gpu;
  },
  defaultModelDir: () => MODEL_DIR,
  hardwareConcurrency: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
};
