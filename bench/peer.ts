/**
 * The peer every bench measures against: @huggingface/transformers generate() on the same model
 * folder, greedy, on onnxruntime-node CPU (transformers.js has no "wasm" device on Node/Bun).
 * Decode time excludes prefill: a 1-token generate() is the prefill and its first token.
 */
import { dirname, basename } from "node:path";
import { AutoModelForCausalLM, AutoTokenizer, env } from "@huggingface/transformers";

export interface Peer {
  name: string;
  /** Decode time for `maxTokens` new tokens after `prompt` (text or token ids), and the tokens. */
  /** decodeMs: the time for maxTokens minus the time for 1; firstTokenMs: the time for 1 (prefill and its token). */
  run(prompt: string | readonly number[], maxTokens: number): Promise<{ tokens: number[]; decodeMs: number; firstTokenMs: number }>;
}

export async function transformersPeer(modelDir: string, dtype: string): Promise<Peer> {
  env.allowRemoteModels = false;
  env.localModelPath = `${dirname(modelDir)}/`;
  const name = basename(modelDir);
  const tok = await AutoTokenizer.from_pretrained(name);
  const tjs = await AutoModelForCausalLM.from_pretrained(name, { dtype: dtype === "q8" ? "q8" : (dtype as "fp32"), device: "cpu" });
  const { Tensor } = await import("@huggingface/transformers");
  const inputsOf = (prompt: string | readonly number[]) => {
    if (typeof prompt === "string") return tok(prompt) as Record<string, unknown>;
    const ids = BigInt64Array.from(prompt.map(BigInt));
    return { input_ids: new Tensor("int64", ids, [1, ids.length]), attention_mask: new Tensor("int64", new BigInt64Array(ids.length).fill(1n), [1, ids.length]) };
  };
  const once = async (prompt: string | readonly number[], n: number) => {
    const inputs = inputsOf(prompt);
    const t0 = performance.now();
    const out = (await tjs.generate({ ...inputs, max_new_tokens: n, min_new_tokens: n, do_sample: false })) as { tolist(): number[][] };
    const ms = performance.now() - t0;
    return { ms, tokens: out.tolist()[0]!.slice((inputs.input_ids as { dims: number[] }).dims[1]!).map(Number) };
  };
  return {
    name: "transformers.js",
    run: async (prompt, maxTokens) => {
      const first = await once(prompt, 1);
      const all = await once(prompt, maxTokens);
      return { tokens: all.tokens, decodeMs: Math.max(0.001, all.ms - first.ms), firstTokenMs: first.ms };
    },
  };
}
