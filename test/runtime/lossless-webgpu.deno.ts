// Run by lossless-webgpu.test.ts under Deno: plain vs every drafter on the WebGPU backend.
// Prints one JSON line: { float16 (the adapter's shader-f16, null = unknown), results: [{ layout, dtype, backend, prompt, plain,
// treeReason, drafters: { name: { tokens, steps, accepted, treeAttention } } }], refused: float16 loads the adapter cannot run }.
import { denoHost } from "../../adapters/deno/host.ts";
import { REFERENCE_MODEL } from "../../src/model/shipped.ts";
import { generatePlain } from "../../src/decode/plain.ts";
import { buildDrafter, DRAFTER_NAMES, readDraftAssets } from "../../src/engine/drafting.ts";
import { chooseKernels } from "../../src/setup.ts";
import { generate } from "../../src/engine/speculative.ts";
import { loadModel } from "../../src/model/load.ts";
import { genaiReplica, MHA_KV_HEADS } from "../helpers/genai-replica.ts";
import { readFileDeno, removeReplica, replicaDir } from "../helpers/deno-replica.ts";
import { toFloat16 } from "../helpers/graph-surgery.ts";

declare const Deno: { args: string[] };
const MAX_TOKENS = Number(Deno.args[0] ?? 32);
// Copy-heavy prompts: their continuations repeat what came before, so every drafter gets drafts accepted.
const PROMPTS = [
  "a = [1, 2, 3, 4]\nb = [1, 2, 3, 4]\nc = [1, 2, 3, 4]\nd = [",
  "def get_name(self):\n    return self.name\n\ndef get_path(self):\n    return self.path\n\ndef get_size(self):\n",
];
/** The reference model (edgespec-tiny), not the CLI's default. */
const MODEL_DIR = new URL(`../../models/${REFERENCE_MODEL}`, import.meta.url).pathname;
type Run = { tokens: number[]; steps: number; accepted: number; treeAttention: boolean; kvType: string };
const out: { layout: string; dtype: string; backend: string; prompt: number; plain: number[]; treeReason?: string; drafters: Record<string, Run> }[] = [];
const replica = (file: string, graph: Uint8Array, kvHeads?: number) => replicaDir(MODEL_DIR, file, graph, kvHeads);

const kernels = await chooseKernels(denoHost, "wasm");
const reference = await readFileDeno(`${MODEL_DIR}/onnx/model.onnx`);
const gqa = genaiReplica(reference, { positions: "genai", packedQkv: true });
const fp16Dir = await replica("model_fp16.onnx", toFloat16(reference));
const gqaDir = await replica("model.onnx", gqa);
const gqaFp16Dir = await replica("model_fp16.onnx", toFloat16(gqa));
const mhaDir = await replica("model.onnx", genaiReplica(reference, { positions: "rotary-from-mask", packedQkv: false, attention: "mha" }), MHA_KV_HEADS);
const runs = [
  ["decomposed", "fp32", MODEL_DIR, PROMPTS],
  ["decomposed", "q4", MODEL_DIR, PROMPTS.slice(0, 1)],
  ["decomposed", "fp16", fp16Dir, PROMPTS.slice(0, 1)],
  ["GroupQueryAttention", "fp32", gqaDir, PROMPTS.slice(0, 1)],
  ["GroupQueryAttention", "fp16", gqaFp16Dir, PROMPTS.slice(0, 1)],
  ["MultiHeadAttention", "fp32", mhaDir, PROMPTS.slice(0, 1)],
] as const;
const float16 = (await denoHost.webGpuAdapter())?.float16;
const refused: { layout: string; dtype: string; code: string; message: string }[] = [];
for (const [layout, dtype, dir, prompts] of runs) {
  let m;
  try {
    m = await loadModel(denoHost, dir, { dtype, device: "webgpu" });
  } catch (e) {
    // An adapter without shader-f16 cannot run a float16 graph: the load must say so.
    if (float16 !== false || dtype !== "fp16") throw e;
    refused.push({ layout, dtype, code: (e as { code?: string }).code ?? "", message: String((e as Error).message) });
    continue;
  }
  for (const [i, prompt] of prompts.entries()) {
    const opts = { maxTokens: MAX_TOKENS, stopAtEos: false };
    const plain = await generatePlain(m, prompt, opts);
    const drafters: Record<string, Run> = {};
    for (const name of DRAFTER_NAMES.filter((n) => n !== "none")) {
      await readDraftAssets(m, { name, kernels });
      const r = await generate(m, prompt, { ...opts, drafter: buildDrafter(m, { name, kernels }), budget: 16 });
      drafters[name] = { tokens: r.tokens, steps: r.stats.steps, accepted: r.stats.acceptedTokens, treeAttention: r.stats.treeAttention, kvType: m.lm.info.layout.kvType };
    }
    out.push({ layout: m.lm.info.layout.attention, dtype, backend: m.lm.info.backend, prompt: i, plain: plain.tokens, treeReason: m.lm.info.treeAttention.reason, drafters });
  }
  await m.lm.dispose();
}
for (const d of [fp16Dir, gqaDir, gqaFp16Dir, mhaDir]) await removeReplica(d);
console.log(JSON.stringify({ float16: float16 ?? null, results: out, refused }));
