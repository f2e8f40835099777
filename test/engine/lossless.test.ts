/**
 * The contract: with greedy decoding, speculative output is token-for-token plain output — for
 * every drafter, on 40 prompts of different kinds and lengths, with fp32, q4 (fp32 activations) and
 * fp16 (the whole graph and KV cache in float16, test/helpers/graph-surgery.ts) weights on WASM, and fp32 and q4 on the native CPU backend. int8-activation graphs (q8) are exact only
 * up to rounding flips at near ties: see README, "Exactness", and test/onnx/row-quant.test.ts.
 * (Deno's WebGPU backend: test/runtime/lossless-webgpu.test.ts.)
 */
import { describe, expect, test } from "bun:test";
import { bunHost } from "../../adapters/bun/host.ts";
import prompts from "../../bench/prompts.json";
import { generatePlain } from "../../src/decode/plain.ts";
import { buildDrafter } from "../../src/engine/drafting.ts";
import { chooseKernels } from "../../src/setup.ts";
import { generate } from "../../src/engine/speculative.ts";
import { referenceModel } from "../helpers/model.ts";

const DRAFTERS = ["recycle", "sam", "ngram", "hybrid"];
// 40 prompts: 34 spread evenly over the bench's six workloads, plus short and odd ones.
const PROMPTS = [
  ...Array.from({ length: 34 }, (_, k) => prompts.prompts[Math.floor((k * prompts.prompts.length) / 34)]!.prompt),
  "x",
  "\n\n\n",
  "日本語のテキスト 🎉",
  "a a a a a a a a a a a a",
  "def f():\n    return f()\n\ndef f():\n    return",
  "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,",
];
const MAX_TOKENS = 32;

// onnxruntime-node's native CPU kernels (`--device cpu`) too; its fp16 inputs cannot be passed
// under Bun's N-API (load refuses them: test/model/native-cpu.test.ts).
const RUNS = [["fp32", "wasm"], ["q4", "wasm"], ["fp16", "wasm"], ["fp32", "cpu"], ["q4", "cpu"]] as const;

describe("lossless greedy decoding", () => {
  for (const [dtype, device] of RUNS) {
    test(`${dtype} on ${device}: every drafter reproduces plain decoding on 40 prompts`, async () => {
      expect(PROMPTS.length).toBe(40);
      const kernels = await chooseKernels(bunHost, "wasm");
      expect(kernels.name).toBe("wasm");
      const m = await referenceModel(dtype, device);
      expect(m.lm.info.backend).toBe(device);
      const drafters = DRAFTERS.map((name) => buildDrafter(m, { name, kernels })!);
      const accepted: Record<string, number> = {};
      for (const prompt of PROMPTS) {
        const plain = await generatePlain(m, prompt, { maxTokens: MAX_TOKENS });
        for (const d of drafters) {
          // Fixed and adaptive budgets both: a fixed 48 exercises big trees every step.
          const spec = await generate(m, prompt, { maxTokens: MAX_TOKENS, drafter: d, budget: prompt.length % 2 ? 48 : "auto" });
          if (spec.tokens.join() !== plain.tokens.join()) {
            throw new Error(`${d.name} (${dtype}, ${device}) diverged on prompt ${JSON.stringify(prompt.slice(0, 60))}:\n plain ${plain.tokens}\n spec  ${spec.tokens}`);
          }
          expect(spec.text).toBe(plain.text);
          accepted[d.name] = (accepted[d.name] ?? 0) + spec.stats.acceptedTokens;
        }
      }
      console.log(`${dtype} on ${device}: accepted draft tokens over 40 prompts: ${JSON.stringify(accepted)}`);
      // The drafters are actually drafting (else the comparison above would prove little).
      for (const name of DRAFTERS) expect(accepted[name]).toBeGreaterThan(100);
      for (const d of drafters) d.dispose();
      // ~90 s alone on 2 cores (q4), ~220 s with another suite running beside it.
    }, 420_000);
  }
});
