/**
 * The KV cache kept in GPU buffers on WebGPU (src/model/gpu-kv-cache.ts), on Deno's adapter
 * (llvmpipe in CI): plain and speculative greedy output equal the same model with the cache in JS
 * memory and the WASM backend's; rollback gathered on the GPU equals the same gather on the CPU,
 * bit for bit; and a plain step reads back one logits row, not the cache.
 */
import { expect } from "bun:test";
import { BIN, REPO, run } from "../helpers/model.ts";
import { denoHasWebGpu, testWhen, WEBGPU_REQUIREMENT } from "../helpers/requirements.ts";

testWhen(await denoHasWebGpu(), WEBGPU_REQUIREMENT)("WebGPU (Deno): the KV cache stays on the GPU, output unchanged, rollback exact, only logits read back", async () => {
  const r = await run([BIN.deno[0]!, "run", "-A", `${REPO}test/runtime/gpu-kv.deno.ts`]);
  if (r.code !== 0) throw new Error(r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  expect(out.kvCache).toEqual(["gpu", "cpu"]);
  expect(out.plainEqual).toBe(true);
  expect(out.wasmEqual).toBe(true);
  expect(out.specEqual).toBe(true);
  expect(out.accepted).toBeGreaterThan(0);
  expect(out.compactionEqual).toBe(true);
  expect(out.lengthAfter).toBe(6);
  // Vocabulary 4096: one float32 logits row per token; with the cache in JS memory each token also copies its new KV entries.
  expect(out.readBack.gpu).toBe(4096 * 4);
  expect(out.readBack.cpu).toBeGreaterThan(out.readBack.gpu);
}, 300_000);
