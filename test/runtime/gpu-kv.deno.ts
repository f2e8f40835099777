// Run by gpu-kv.test.ts under Deno: the KV cache kept on the GPU, against the same model with it in JS memory.
// Prints one JSON line: { kvCache, plainEqual, wasmEqual, sampledEqual, logprobsEqual, readBackWithLogprobs, specEqual, accepted, compactionEqual, lengthAfter, grownEqual, gqa: {...}, readBack: { gpu, cpu } }.
import { denoHost } from "../../adapters/deno/host.ts";
import { generatePlain } from "../../src/decode/plain.ts";
import { buildDrafter, readDraftAssets } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/speculative.ts";
import { GpuKvCache } from "../../src/model/gpu-kv-cache.ts";
import { loadModel } from "../../src/model/load.ts";
import { REFERENCE_MODEL } from "../../src/model/shipped.ts";
import type { LoadedModel } from "../../src/model/load.ts";
import { readFileDeno, removeReplica, replicaDir } from "../helpers/deno-replica.ts";
import { genaiReplica } from "../helpers/genai-replica.ts";

const MODEL_DIR = new URL(`../../models/${REFERENCE_MODEL}`, import.meta.url).pathname;
const prompt = "a = [1, 2, 3, 4]\nb = [1, 2, 3, 4]\nc = [";
const opts = { maxTokens: 16, stopAtEos: false };
const gpu = await loadModel(denoHost, MODEL_DIR, { dtype: "fp32", device: "webgpu" });
const cpu = await loadModel(denoHost, MODEL_DIR, { dtype: "fp32", device: "webgpu", gpuKvCache: false });
const out: Record<string, unknown> = { kvCache: [gpu.lm.info.kvCache, cpu.lm.info.kvCache] };
const [pg, pc] = [await generatePlain(gpu, prompt, opts), await generatePlain(cpu, prompt, opts)];
out.plainEqual = pg.tokens.join() === pc.tokens.join();
const wasm = await loadModel(denoHost, MODEL_DIR, { dtype: "fp32", device: "wasm" });
out.wasmEqual = (await generatePlain(wasm, prompt, opts)).tokens.join() === pg.tokens.join();
await wasm.lm.dispose();
out.readBack = { gpu: pg.stats.readBackBytesPerToken, cpu: pc.stats.readBackBytesPerToken };
// Sampling and logprobs need the logits: read back as before, same tokens as the JS-memory cache.
const sampled = { temperature: 0.8, seed: 3 };
out.sampledEqual = (await generatePlain(gpu, prompt, { ...opts, ...sampled })).tokens.join() === (await generatePlain(cpu, prompt, { ...opts, ...sampled })).tokens.join();
const withLogprobs = await generatePlain(gpu, prompt, { ...opts, logprobs: 2 });
out.logprobsEqual = withLogprobs.tokens.join() === pg.tokens.join();
out.readBackWithLogprobs = withLogprobs.stats.readBackBytesPerToken;
await readDraftAssets(gpu, { name: "hybrid" });
const spec = await generate(gpu, prompt, { ...opts, drafter: buildDrafter(gpu, { name: "hybrid" }), budget: 16 });
out.specEqual = spec.tokens.join() === pg.tokens.join();
out.accepted = spec.stats.acceptedTokens;
// Compaction on the GPU against the same positions gathered on the CPU from the data read back;
// then growth after a rollback (onnxruntime#32716: WebGPU GQA's in-place KV) against the same steps
// on the same model with its cache in JS memory (`ref`).
async function compactionCheck(m: LoadedModel, ref: LoadedModel): Promise<{ equal: boolean; lengthAfter: number; grownEqual: boolean }> {
  const cache = m.lm.newCache() as GpuKvCache;
  const ids = m.tokenizer.encode(prompt, false).slice(0, 12);
  await m.lm.forward(ids, ids.map((_, i) => i), cache);
  const before = await cache.read();
  const keep = [0, 1, 2, 5, 6, 9, 11];
  // Two rollbacks before a forward compose: positions 0 1 2 4 5 6 of [0 1 2 5 6 9 11 | 3 dropped] = the 6 kept below.
  cache.keep([0, 1, 2, 3, 5, 6, 9, 10, 11]);
  cache.keep([0, 1, 2, 4, 5, 6, 8]);
  cache.truncate(6);
  const after = await cache.read();
  const { numKvHeads: H, headDim: D } = m.lm.spec;
  const n = ids.length;
  let equal = after.length === before.length;
  for (const [t, data] of before.entries()) {
    const expected: number[] = [];
    for (let h = 0; h < H; h++) for (const p of keep.slice(0, 6)) for (let d = 0; d < D; d++) expected.push(data[(h * n + p) * D + d]!);
    const got = Array.from(after[t]!);
    if (got.length !== expected.length || got.some((x, i) => !Object.is(x, expected[i]))) equal = false;
  }
  const lengthAfter = cache.length;
  // Roll back to a prefix and grow again: the rows must be those of the same steps on a JS-memory cache.
  cache.truncate(4);
  const grown = await m.lm.forward(ids.slice(4, 8), [4, 5, 6, 7], cache);
  const other = ref.lm.newCache();
  await ref.lm.forward(ids, ids.map((_, i) => i), other);
  other.keep(keep);
  other.truncate(4);
  const expected = await ref.lm.forward(ids.slice(4, 8), [4, 5, 6, 7], other);
  const grownEqual = grown.length === expected.length && Array.from(grown).every((x, i) => Object.is(x, expected[i]));
  cache.release();
  return { equal, lengthAfter, grownEqual };
}
const decomposed = await compactionCheck(gpu, cpu);
out.compactionEqual = decomposed.equal;
out.lengthAfter = decomposed.lengthAfter;
out.grownEqual = decomposed.grownEqual;
const gqaDir = await replicaDir(MODEL_DIR, "model.onnx", genaiReplica(await readFileDeno(`${MODEL_DIR}/onnx/model.onnx`), { positions: "genai", packedQkv: true }));
const gqa = await loadModel(denoHost, gqaDir, { dtype: "fp32", device: "webgpu" });
const gqaRef = await loadModel(denoHost, gqaDir, { dtype: "fp32", device: "webgpu", gpuKvCache: false });
out.gqa = { attention: gqa.lm.info.layout.attention, kvCache: gqa.lm.info.kvCache, ...(await compactionCheck(gqa, gqaRef)) };
await gqa.lm.dispose();
await gqaRef.lm.dispose();
await removeReplica(gqaDir);
await gpu.lm.dispose();
await cpu.lm.dispose();
console.log(JSON.stringify(out));
