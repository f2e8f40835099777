/**
 * Proof that the reference model is a standard hub-layout Llama: @huggingface/transformers loads the
 * same directory (config.json, tokenizer files, onnx/model.onnx) and its greedy generate() yields
 * the tokens edgespec yields. (transformers.js runs it on onnxruntime-node; edgespec on ort-web.)
 */
import { describe, expect, test } from "bun:test";
import { AutoModelForCausalLM, AutoTokenizer, env } from "@huggingface/transformers";
import { generatePlain } from "../../src/decode/plain.ts";
import { MODEL_DIR, referenceModel } from "../helpers/model.ts";

const PROMPTS = ["import os\n\ndef read_config(path):\n", "export interface Point {\n", "The result of the call is"];

describe("transformers.js parity", () => {
  test("same prompt ids and same greedy tokens as @huggingface/transformers", async () => {
    env.allowRemoteModels = false;
    env.localModelPath = `${MODEL_DIR}/../`;
    const name = MODEL_DIR.replace(/\/$/, "").split("/").pop()!;
    const tok = await AutoTokenizer.from_pretrained(name);
    const model = await AutoModelForCausalLM.from_pretrained(name, { dtype: "fp32", device: "cpu" });
    const ours = await referenceModel("fp32");
    for (const prompt of PROMPTS) {
      const inputs = tok(prompt);
      const ids = (inputs.input_ids.tolist() as bigint[][])[0]!.map(Number);
      expect(ids).toEqual(ours.tokenizer.encode(prompt, true));
      const out = (await model.generate({ ...inputs, max_new_tokens: 16, do_sample: false })) as { tolist(): bigint[][] };
      const theirs = out.tolist()[0]!.map(Number).slice(ids.length);
      const mine = await generatePlain(ours, prompt, { maxTokens: 16, stopAtEos: true });
      // transformers.js stops at EOS too; compare what both produced.
      expect(mine.tokens).toEqual(theirs.filter((t, i) => !(i === theirs.length - 1 && ours.lm.spec.eosTokenIds.includes(t))));
    }
    await model.dispose();
  });
});
