/**
 * Read-back accounting (stats.readBackBytesPerToken): what crosses from onnxruntime to JS per
 * generated token. Plain decoding reads one logits row and the step's new KV entries, exactly; the
 * figure issue 14 (ids only, KV on the GPU) is to shrink.
 */
import { expect, test } from "bun:test";
import { generatePlain } from "../../src/decode/plain.ts";
import { referenceModel } from "../helpers/model.ts";

test("plain decoding reads back one logits row and the new KV entries per token, no more", async () => {
  const m = await referenceModel("fp32");
  const s = m.lm.spec;
  const r = await generatePlain(m, "def add(a, b):", { maxTokens: 24, stopAtEos: false });
  const kvPerToken = s.numLayers * 2 * s.numKvHeads * s.headDim * 4; // fp32 keys and values
  expect(r.stats.readBackBytesPerToken).toBe(s.vocabSize * 4 + kvPerToken);
});
