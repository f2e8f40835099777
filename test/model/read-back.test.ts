/**
 * Read-back accounting (stats.readBackBytesPerToken): what crosses from onnxruntime to JS per
 * generated token. Greedy plain decoding reads one argmax id (the graph's head, logits-heads.ts)
 * and the step's new KV entries; sampling needs the distribution, so it reads the logits row.
 */
import { expect, test } from "bun:test";
import { generatePlain } from "../../src/decode/plain.ts";
import { referenceModel } from "../helpers/model.ts";

test("greedy plain decoding reads back one id and the new KV entries per token, sampling one logits row instead", async () => {
  const m = await referenceModel("fp32");
  const s = m.lm.spec;
  const kvPerToken = s.numLayers * 2 * s.numKvHeads * s.headDim * 4; // fp32 keys and values
  const greedy = await generatePlain(m, "def add(a, b):", { maxTokens: 24, stopAtEos: false });
  expect(greedy.stats.readBackBytesPerToken).toBe(8 + kvPerToken); // an int64 id
  const sampled = await generatePlain(m, "def add(a, b):", { maxTokens: 24, stopAtEos: false, temperature: 0.8, seed: 7 });
  expect(sampled.stats.readBackBytesPerToken).toBe(s.vocabSize * 4 + kvPerToken);
});
