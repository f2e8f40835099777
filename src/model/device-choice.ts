/**
 * Which backend a model runs on: the --device choices, and how `auto` (and a float16 graph on an
 * adapter without shader-f16) settle on one, saying why.
 */
import { EdgespecError } from "../errors.ts";
import type { Device, Host } from "../host.ts";

export const DEVICES = ["auto", "wasm", "webgpu", "cpu"] as const;
export type DeviceChoice = (typeof DEVICES)[number];

export function parseDevice(value: string): DeviceChoice {
  if ((DEVICES as readonly string[]).includes(value)) return value as DeviceChoice;
  throw new EdgespecError("invalid_device", `unknown device "${value}"`, { validOptions: DEVICES });
}

/**
 * `auto` takes WebGPU only on a hardware adapter: a software fallback (llvmpipe, SwiftShader) is
 * far slower than WASM, so it is used only when asked for by name, and the choice is said.
 */
export async function chooseDevice(host: Host, choice: DeviceChoice, say: (m: string) => void): Promise<{ device: Device; adapter?: string; float16?: boolean }> {
  if (choice === "wasm" || choice === "cpu") return { device: choice };
  const adapter = await host.webGpuAdapter();
  const chosen = () => ({ device: "webgpu" as const, adapter: adapter!.description, ...(adapter!.float16 === undefined ? {} : { float16: adapter!.float16 }) });
  if (choice === "webgpu") {
    if (!adapter) throw new EdgespecError("device_unavailable", `no WebGPU adapter on ${host.runtime}; use --device wasm (or auto)`);
    if (adapter.fallback) say(`WebGPU adapter "${adapter.description}" is a software fallback (expect it to be slower than wasm)`);
    return chosen();
  }
  if (adapter && !adapter.fallback) return chosen();
  if (adapter) say(`WebGPU adapter "${adapter.description}" is a software fallback: using wasm (--device webgpu uses it anyway)`);
  return { device: "wasm" };
}

/**
 * A float16 graph on an adapter without shader-f16 fails at its first forward, inside onnxruntime
 * ("Program Gather requires f16 but the device does not support it"): refused at load instead
 * (--device webgpu), or run on wasm (auto).
 */
export function withFloat16(chosen: { device: Device; adapter?: string; float16?: boolean }, float16Graph: boolean, choice: DeviceChoice, say: (m: string) => void): { device: Device; adapter?: string } {
  if (chosen.device !== "webgpu" || !float16Graph || chosen.float16 !== false) return { device: chosen.device, ...(chosen.adapter ? { adapter: chosen.adapter } : {}) };
  const why = `the WebGPU adapter "${chosen.adapter}" has no shader-f16, which this float16 graph needs`;
  if (choice === "webgpu") throw new EdgespecError("device_unavailable", `${why}; use --device wasm, or an fp32/q4 model`);
  say(`${why}: using wasm`);
  return { device: "wasm" };
}
