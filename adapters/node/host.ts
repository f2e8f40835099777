/** Host for Node: node:fs, onnxruntime-web's node build (wasm, worker threads). No WebGPU in ort-web on Node. */
import { readFile, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Device, Host, OrtModule } from "../../src/host.ts";

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
  isDirectory: async (path) => (await kind(path)) === "dir",
  join: (...parts) => join(...parts),
  async loadOrt(_device: Device): Promise<OrtModule> {
    return (await import("onnxruntime-web")) as unknown as OrtModule;
  },
  hasWebGPU: async () => false,
  defaultModelDir: () => join(packageRoot(), "models", "edgespec-tiny"),
  hardwareConcurrency: () => availableParallelism(),
};
