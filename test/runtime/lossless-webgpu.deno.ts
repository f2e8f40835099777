// Run by lossless-webgpu.test.ts under Deno: plain vs every drafter on the WebGPU backend.
// Prints one JSON line: [{ dtype, backend, prompt, plain, drafters: { name: { tokens, steps, accepted, treeAttention } } }].
import { denoHost } from "../../adapters/deno/host.ts";
import { generatePlain } from "../../src/decode/generate.ts";
import { buildDrafter, DRAFTER_NAMES, startKernels } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/generate.ts";
import { loadModel } from "../../src/model/load.ts";
import { toFloat16 } from "../helpers/graph-surgery.ts";

declare const Deno: {
  args: string[];
  makeTempDir(): Promise<string>;
  mkdir(path: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  remove(path: string, opts: { recursive: boolean }): Promise<void>;
};
const MAX_TOKENS = Number(Deno.args[0] ?? 32);
// Copy-heavy prompts: their continuations repeat what came before, so every drafter gets drafts accepted.
const PROMPTS = [
  "a = [1, 2, 3, 4]\nb = [1, 2, 3, 4]\nc = [1, 2, 3, 4]\nd = [",
  "def get_name(self):\n    return self.name\n\ndef get_path(self):\n    return self.path\n\ndef get_size(self):\n",
];
type Run = { tokens: number[]; steps: number; accepted: number; treeAttention: boolean; kvType: string };
const out: { dtype: string; backend: string; prompt: number; plain: number[]; drafters: Record<string, Run> }[] = [];
/** A float16 replica of the reference model (opset 14, float16 KV), as test/model/layouts.test.ts makes it. */
async function float16ModelDir(): Promise<string> {
  const src = denoHost.defaultModelDir();
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/onnx`);
  for (const f of ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"]) await Deno.copyFile(`${src}/${f}`, `${dir}/${f}`);
  await Deno.writeFile(`${dir}/onnx/model_fp16.onnx`, toFloat16(await Deno.readFile(`${src}/onnx/model.onnx`)));
  return dir;
}

await startKernels(denoHost);
const fp16Dir = await float16ModelDir();
const runs = [
  ["fp32", denoHost.defaultModelDir(), PROMPTS],
  ["q4", denoHost.defaultModelDir(), PROMPTS.slice(0, 1)],
  ["fp16", fp16Dir, PROMPTS.slice(0, 1)],
] as const;
for (const [dtype, dir, prompts] of runs) {
  const m = await loadModel(denoHost, dir, { dtype, device: "webgpu" });
  for (const [i, prompt] of prompts.entries()) {
    const opts = { maxTokens: MAX_TOKENS, stopAtEos: false };
    const plain = await generatePlain(m, prompt, opts);
    const drafters: Record<string, Run> = {};
    for (const name of DRAFTER_NAMES.filter((n) => n !== "none")) {
      const r = await generate(m, prompt, { ...opts, drafter: buildDrafter(m, { name }), budget: 16 });
      drafters[name] = { tokens: r.tokens, steps: r.stats.steps, accepted: r.stats.acceptedTokens, treeAttention: r.stats.treeAttention, kvType: m.lm.info.layout.kvType };
    }
    out.push({ dtype, backend: m.lm.info.backend, prompt: i, plain: plain.tokens, drafters });
  }
  await m.lm.dispose();
}
await Deno.remove(fp16Dir, { recursive: true });
console.log(JSON.stringify(out));
