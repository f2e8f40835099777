/**
 * The WebGPU adapter a web-standard runtime offers (`navigator.gpu`: Deno, browsers), described
 * for the loader's device choice. Shared by the Deno and browser hosts; each caches its own answer.
 */
import type { WebGpuAdapter } from "../../src/host.ts";

type Info = { description?: string; device?: string; vendor?: string; architecture?: string; isFallbackAdapter?: boolean };
type Gpu = { requestAdapter(): Promise<{ info?: Info; isFallbackAdapter?: boolean; features?: { has(name: string): boolean } } | null> };

export async function navigatorGpuAdapter(): Promise<WebGpuAdapter | undefined> {
  const nav = (globalThis as { navigator?: { gpu?: Gpu } }).navigator;
  if (!nav?.gpu) return undefined;
  try {
    const adapter = await nav.gpu.requestAdapter();
    if (!adapter) return undefined;
    const info = adapter.info ?? {};
    // Chromium leaves description empty and names SwiftShader in `architecture`.
    const description = info.description || info.device || [info.vendor, info.architecture].filter(Boolean).join(" ") || "unknown adapter";
    // Deno and Chromium say whether the adapter is a fallback; the name check covers runtimes that do not.
    const fallback = info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? /llvmpipe|lavapipe|softpipe|swiftshader|basic render|warp/i.test(description);
    const float16 = adapter.features ? adapter.features.has("shader-f16") : undefined;
    return { description, fallback, ...(float16 === undefined ? {} : { float16 }) };
  } catch {
    return undefined;
  }
}
