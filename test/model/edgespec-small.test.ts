/**
 * models/edgespec-small (26.5M parameters; fp16 weights stored as float16 initializers, Cast to
 * float32 in the graph, tools/fp16_storage.py): its logits are PyTorch's, and greedy speculative
 * decoding reproduces plain greedy decoding with every drafter, as the lossless suite checks for
 * the reference model (test/engine/lossless.test.ts), on fewer prompts to keep this file short.
 */
import { describe, expect, test } from "bun:test";
import { bunHost } from "../../adapters/bun/host.ts";
import prompts from "../../bench/prompts.json";
import { generatePlain } from "../../src/decode/plain.ts";
import { buildDrafter } from "../../src/engine/drafting.ts";
import { chooseKernels } from "../../src/setup.ts";
import { generate } from "../../src/engine/speculative.ts";
import { type LoadedModel, loadModel } from "../../src/model/load.ts";
import fixture from "../fixtures/small-reference-logits.json";
import { REPO, withDraftAssets } from "../helpers/model.ts";

const DIR = `${REPO}models/edgespec-small`;
let loaded: Promise<LoadedModel> | undefined;
const small = () => (loaded ??= loadModel(bunHost, DIR, { dtype: "fp32", device: "wasm" }).then(withDraftAssets));

const DRAFTERS = ["recycle", "sam", "ngram", "hybrid"];
// 6 prompts, one from each of the bench's workloads.
const PROMPTS = Array.from({ length: 6 }, (_, k) => prompts.prompts[Math.floor((k * prompts.prompts.length) / 6)]!.prompt);
const MAX_TOKENS = 32;

describe("edgespec-small", () => {
  test("the graph stores its weights as float16 and computes in float32; logits equal PyTorch's within 1e-4", async () => {
    // 26.5M parameters at 2 bytes each; the fp32 export of the same weights is 106 MB.
    const bytes = Bun.file(`${DIR}/onnx/model.onnx`).size;
    expect(bytes).toBeGreaterThan(52e6);
    expect(bytes).toBeLessThan(56e6);
    const m = await small();
    expect(m.lm.spec.vocabSize).toBe(16384);
    expect(m.lm.info.dtype).toBe("fp32");
    const ids = fixture.input_ids;
    const V = m.lm.spec.vocabSize;
    const logits = await m.lm.forward(ids, ids.map((_, i) => i), m.lm.newCache());
    let worst = 0;
    fixture.positions.forEach((p, r) => {
      expect(fixture.logits[r]!.length).toBe(V);
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(logits[p * V + v]! - fixture.logits[r]![v]!));
    });
    console.log(`edgespec-small: worst |logit - PyTorch logit| ${worst.toExponential(2)} over ${fixture.positions.length} x ${V}`);
    expect(worst).toBeLessThan(1e-4);
  }, 60_000);

  test("every drafter reproduces plain greedy decoding on 6 bench prompts", async () => {
    const kernels = await chooseKernels(bunHost, "wasm");
    const m = await small();
    const drafters = DRAFTERS.map((name) => buildDrafter(m, { name, kernels })!);
    const accepted: Record<string, number> = {};
    for (const prompt of PROMPTS) {
      // Past </s> too (as the server's ignore_eos): one prompt's continuation ends after 5 tokens.
      const plain = await generatePlain(m, prompt, { maxTokens: MAX_TOKENS, stopAtEos: false });
      expect(plain.tokens.length).toBe(MAX_TOKENS);
      for (const d of drafters) {
        // A fixed 48-node budget on odd-length prompts (big trees every step), adaptive otherwise.
        const spec = await generate(m, prompt, { maxTokens: MAX_TOKENS, stopAtEos: false, drafter: d, budget: prompt.length % 2 ? 48 : "auto" });
        if (spec.tokens.join() !== plain.tokens.join()) {
          throw new Error(`${d.name} diverged on prompt ${JSON.stringify(prompt.slice(0, 60))}:\n plain ${plain.tokens}\n spec  ${spec.tokens}`);
        }
        expect(spec.text).toBe(plain.text);
        accepted[d.name] = (accepted[d.name] ?? 0) + spec.stats.acceptedTokens;
      }
    }
    console.log(`edgespec-small: accepted draft tokens over ${PROMPTS.length} prompts: ${JSON.stringify(accepted)}`);
    for (const name of DRAFTERS) expect(accepted[name]).toBeGreaterThan(0);
    for (const d of drafters) d.dispose();
  }, 180_000);
});
