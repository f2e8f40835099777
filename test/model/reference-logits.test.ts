import { describe, expect, test } from "bun:test";
import { referenceModel } from "../helpers/model.ts";
import fixture from "../fixtures/reference-logits.json";

const HELDOUT = await Bun.file(new URL("../fixtures/heldout.txt", import.meta.url)).text();

/** Mean next-token cross-entropy (nats) of `text` under the model, one forward over all tokens. */
async function heldOutLoss(dtype: "fp32" | "q8" | "q4"): Promise<number> {
  const m = await referenceModel(dtype);
  const ids = m.tokenizer.encode(HELDOUT, true).slice(0, 512);
  const V = m.lm.spec.vocabSize;
  const logits = await m.lm.forward(ids, ids.map((_, i) => i), m.lm.newCache());
  let nll = 0;
  for (let i = 0; i + 1 < ids.length; i++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[i * V + v]!);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[i * V + v]! - max);
    nll += Math.log(sum) + max - logits[i * V + ids[i + 1]!]!;
  }
  return nll / (ids.length - 1);
}

describe("reference model numerics", () => {
  test("fp32 logits equal the training framework's within 1e-4", async () => {
    const m = await referenceModel("fp32");
    const ids = fixture.input_ids;
    const V = m.lm.spec.vocabSize;
    const logits = await m.lm.forward(ids, ids.map((_, i) => i), m.lm.newCache());
    let worst = 0;
    fixture.positions.forEach((p, r) => {
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(logits[p * V + v]! - fixture.logits[r]![v]!));
    });
    expect(worst).toBeLessThan(1e-4);
  });

  test("the model has learned: held-out loss far below uniform; int8 and q4 stay close to fp32", async () => {
    const fp32 = await heldOutLoss("fp32");
    const q8 = await heldOutLoss("q8");
    const q4 = await heldOutLoss("q4");
    console.log(`held-out loss (nats/token): fp32 ${fp32.toFixed(3)}, q8 ${q8.toFixed(3)}, q4 ${q4.toFixed(3)}; uniform ${Math.log(4096).toFixed(3)}`);
    expect(fp32).toBeLessThan(Math.log(4096) - 2);
    expect(Math.abs(q8 - fp32)).toBeLessThan(0.05);
    expect(Math.abs(q4 - fp32)).toBeLessThan(0.25);
  });

  test("quantized greedy output stays sane: mostly the fp32 continuation", async () => {
    const { generatePlain } = await import("../../src/decode/generate.ts");
    const prompt = "import os\nimport sys\n\n\ndef main(argv):\n    ";
    const ref = await generatePlain(await referenceModel("fp32"), prompt, { maxTokens: 24 });
    for (const dtype of ["q8", "q4"] as const) {
      const out = await generatePlain(await referenceModel(dtype), prompt, { maxTokens: 24 });
      let same = 0;
      while (same < ref.tokens.length && out.tokens[same] === ref.tokens[same]) same++;
      console.log(`${dtype}: first ${same}/24 greedy tokens equal fp32's`);
      expect(out.tokens.length).toBe(24);
      expect(same).toBeGreaterThanOrEqual(4);
    }
  });
});
