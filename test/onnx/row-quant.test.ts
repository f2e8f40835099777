import { describe, expect, test } from "bun:test";
import { bunHost } from "../../adapters/bun/host.ts";
import { rowwiseActivationQuant } from "../../src/onnx/row-quant.ts";
import { MODEL_DIR, referenceModel } from "../helpers/model.ts";

describe("batch-invariant int8 activations", () => {
  test("rewrites every DynamicQuantizeLinear of the int8 model and nothing in the fp32 one", async () => {
    const q8 = rowwiseActivationQuant(await bunHost.readFile(`${MODEL_DIR}/onnx/model_quantized.onnx`));
    const { lm } = await referenceModel();
    expect(q8.rewritten).toBe(lm.spec.numLayers * 7 + 1); // q, k, v, o, gate, up, down per layer + lm_head
    const fp32Bytes = await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`);
    const fp32 = rowwiseActivationQuant(fp32Bytes);
    expect(fp32.rewritten).toBe(0);
    expect(fp32.bytes).toBe(fp32Bytes);
  });

  test("a token's q8 logits do not depend on what else is in its forward", async () => {
    const { lm, tokenizer } = await referenceModel("q8");
    const V = lm.spec.vocabSize;
    const ids = tokenizer.encode("class Config:\n    def __init__(self, path):\n        self.path = path\n", true);
    const batch = await lm.forward(ids, ids.map((_, i) => i), lm.newCache());
    const cache = lm.newCache();
    let worst = 0;
    for (let i = 0; i < ids.length; i++) {
      const one = await lm.forward([ids[i]!], [i], cache);
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(one[v]! - batch[i * V + v]!));
    }
    // Per-tensor activation scales gave differences of order 0.1 here; per-row scales leave fp32 noise.
    expect(worst).toBeLessThan(1e-4);
  });
});
