// Run by lossless-webgpu.test.ts under Deno: plain vs every drafter on the WebGPU backend.
// Prints one JSON line: { backend, results: [{ dtype, prompt, plain, drafters: {name: tokens} }] }.
import { denoHost } from "../../adapters/deno/host.ts";
import { generatePlain } from "../../src/decode/generate.ts";
import { buildDrafter, startKernels } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/generate.ts";
import { loadModel } from "../../src/model/load.ts";

const PROMPTS = ["import os\n\ndef read_config(path):\n    with open(path) as f:\n", "a = [1, 2, 3]\nb = [1, 2, 3]\nc = ["];
const out: { dtype: string; backend: string; prompt: number; plain: number[]; drafters: Record<string, number[]> }[] = [];
await startKernels(denoHost);
for (const dtype of ["fp32", "q4"]) {
  const m = await loadModel(denoHost, denoHost.defaultModelDir(), { dtype, device: "webgpu" });
  for (const [i, prompt] of PROMPTS.entries()) {
    const plain = await generatePlain(m, prompt, { maxTokens: 12 });
    const drafters: Record<string, number[]> = {};
    for (const name of ["recycle", "sam", "ngram", "hybrid"]) {
      const r = await generate(m, prompt, { maxTokens: 12, drafter: buildDrafter(m, { name }), budget: 16 });
      drafters[name] = r.tokens;
    }
    out.push({ dtype, backend: m.lm.info.backend, prompt: i, plain: plain.tokens, drafters });
  }
  await m.lm.dispose();
}
console.log(JSON.stringify(out));
