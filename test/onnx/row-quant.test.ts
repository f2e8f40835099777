import { describe, expect, test } from "bun:test";
import { bunHost } from "../../adapters/bun/host.ts";
import { rowwiseActivationQuant } from "../../src/onnx/row-quant.ts";
import { MODEL_DIR, referenceModel } from "../helpers/model.ts";

describe("per-row int8 activation scales", () => {
  test("rewrites every DynamicQuantizeLinear of the int8 model and nothing in the fp32 one", async () => {
    const q8 = rowwiseActivationQuant(await bunHost.readFile(`${MODEL_DIR}/onnx/model_quantized.onnx`));
    const { lm } = await referenceModel();
    expect(q8.rewritten).toBe(lm.spec.numLayers * 7 + 1); // q, k, v, o, gate, up, down per layer + lm_head
    const fp32Bytes = await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`);
    const fp32 = rowwiseActivationQuant(fp32Bytes);
    expect(fp32.rewritten).toBe(0);
    expect(fp32.bytes).toBe(fp32Bytes);
  });

  test("per-row scales cut the q8 model's batch dependence several-fold (rounding flips remain)", async () => {
    const ort = await import("onnxruntime-web");
    const { CausalLM } = await import("../../src/model/causal-lm.ts");
    const { addTreeAttention } = await import("../../src/onnx/tree-attention.ts");
    const { appendOnlyKv } = await import("../../src/onnx/kv-append.ts");
    const rewritten = await referenceModel("q8");
    // The same graph without the rewrite: one activation scale per tensor, as exported.
    const bytes = appendOnlyKv(addTreeAttention(await bunHost.readFile(`${MODEL_DIR}/onnx/model_quantized.onnx`), { positionIds: "position_ids" }).bytes).bytes;
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    const perTensor = new CausalLM(ort as never, session, rewritten.lm.spec, { ...rewritten.lm.info, inputNames: session.inputNames });
    const text = await Bun.file(new URL("../fixtures/heldout.txt", import.meta.url)).text();
    const ids = rewritten.tokenizer.encode(text, true).slice(0, 120);
    const V = rewritten.lm.spec.vocabSize;
    /** Mean |logit(batch of all tokens) - logit(one token at a time)|. */
    const batchDependence = async (lm: typeof perTensor | typeof rewritten.lm) => {
      const batch = await lm.forward(ids, ids.map((_, i) => i), lm.newCache());
      const cache = lm.newCache();
      let sum = 0;
      for (let i = 0; i < ids.length; i++) {
        const one = await lm.forward([ids[i]!], [i], cache);
        for (let v = 0; v < V; v++) sum += Math.abs(one[v]! - batch[i * V + v]!);
      }
      return sum / (ids.length * V);
    };
    const before = await batchDependence(perTensor);
    const after = await batchDependence(rewritten.lm);
    console.log(`q8 mean |batch - single| logit difference: per-tensor ${before.toExponential(2)}, per-row ${after.toExponential(2)}`);
    expect(after).toBeLessThan(before / 3);
    await session.release();
  });
});
