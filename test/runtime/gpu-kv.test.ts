/**
 * The KV cache kept in GPU buffers on WebGPU (src/model/gpu-kv-cache.ts), on Deno's adapter
 * (llvmpipe in CI): plain and speculative greedy output equal the same model with the cache in JS
 * memory and the WASM backend's; rollback gathered on the GPU equals the same gather on the CPU,
 * bit for bit; a greedy step reads back only its rows' argmax or top ids (computed on the GPU), and sampling
 * or logprobs only the logits, never the cache.
 */
import { expect } from "bun:test";
import { BIN, REPO, run } from "../helpers/model.ts";
import { denoHasWebGpu, testWhen, WEBGPU_REQUIREMENT } from "../helpers/requirements.ts";

testWhen(await denoHasWebGpu(), WEBGPU_REQUIREMENT)("WebGPU (Deno): the KV cache stays on the GPU, output unchanged, rollback exact, only ids (greedy) or logits read back", async () => {
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
  expect(out.grownEqual).toBe(true);
  // The same on a GroupQueryAttention replica (onnxruntime#32716: WebGPU GQA's in-place KV reuse).
  expect(out.gqa).toEqual({ attention: "GroupQueryAttention", kvCache: "gpu", equal: true, lengthAfter: 6, grownEqual: true });
  // Greedy plain decoding: a step reads back its argmax (one int64, computed in the graph), not a
  // 16 KB logits row, wherever the cache lives; with the cache in JS memory each token also
  // copies its new KV entries.
  expect(out.readBack.gpu).toBe(8);
  expect(out.readBack.cpu).toBe(8 + 2 * 6 * 4 * 32 * 4);
  // Sampling and logprobs read the logits row (and only it) and give the same tokens.
  expect(out.sampledEqual).toBe(true);
  expect(out.logprobsEqual).toBe(true);
  expect(out.readBackWithLogprobs).toBe(4096 * 4);
}, 300_000);
