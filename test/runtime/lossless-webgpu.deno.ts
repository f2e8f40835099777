// Run by lossless-webgpu.test.ts under Deno: plain vs every drafter on the WebGPU backend.
// Prints one JSON line: [{ dtype, backend, prompt, plain, drafters: { name: { tokens, steps, accepted, treeAttention } } }].
import { denoHost } from "../../adapters/deno/host.ts";
import { generatePlain } from "../../src/decode/generate.ts";
import { buildDrafter, DRAFTER_NAMES, startKernels } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/generate.ts";
import { loadModel } from "../../src/model/load.ts";

declare const Deno: { args: string[] };
const MAX_TOKENS = Number(Deno.args[0] ?? 32);
// Copy-heavy prompts: their continuations repeat what came before, so every drafter gets drafts accepted.
const PROMPTS = [
  "a = [1, 2, 3, 4]\nb = [1, 2, 3, 4]\nc = [1, 2, 3, 4]\nd = [",
  "def get_name(self):\n    return self.name\n\ndef get_path(self):\n    return self.path\n\ndef get_size(self):\n",
];
type Run = { tokens: number[]; steps: number; accepted: number; treeAttention: boolean };
const out: { dtype: string; backend: string; prompt: number; plain: number[]; drafters: Record<string, Run> }[] = [];
await startKernels(denoHost);
for (const [dtype, prompts] of [["fp32", PROMPTS], ["q4", PROMPTS.slice(0, 1)]] as const) {
  const m = await loadModel(denoHost, denoHost.defaultModelDir(), { dtype, device: "webgpu" });
  for (const [i, prompt] of prompts.entries()) {
    const opts = { maxTokens: MAX_TOKENS, stopAtEos: false };
    const plain = await generatePlain(m, prompt, opts);
    const drafters: Record<string, Run> = {};
    for (const name of DRAFTER_NAMES.filter((n) => n !== "none")) {
      const r = await generate(m, prompt, { ...opts, drafter: buildDrafter(m, { name }), budget: 16 });
      drafters[name] = { tokens: r.tokens, steps: r.stats.steps, accepted: r.stats.acceptedTokens, treeAttention: r.stats.treeAttention };
    }
    out.push({ dtype, backend: m.lm.info.backend, prompt: i, plain: plain.tokens, drafters });
  }
  await m.lm.dispose();
}
console.log(JSON.stringify(out));
