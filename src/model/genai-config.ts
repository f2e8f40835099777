/**
 * Folders written by the onnxruntime-genai model builder: `genai_config.json` beside one decoder
 * graph (`model.decoder.filename`, e.g. model.onnx + model.onnx.data) and the tokenizer files,
 * often without a Hugging Face config.json. The numbers the runtime needs are in
 * `model` and `model.decoder`; the folder holds one graph, so its dtype is read from the graph.
 */
import { EdgespecError } from "../errors.ts";
import { ids, type ModelSpec } from "./config.ts";

type Json = Record<string, unknown>;

export interface GenaiModel {
  spec: ModelSpec;
  /** The decoder graph's file name, relative to the folder. */
  filename: string;
}

const obj = (v: unknown): Json => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {});
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

export function readGenaiConfig(json: unknown): GenaiModel {
  const model = obj(obj(json).model);
  const decoder = obj(model.decoder);
  const need = (what: string, v: number | undefined): number => {
    if (v === undefined || v <= 0) throw new EdgespecError("model_invalid", `genai_config.json does not give ${what}`);
    return v;
  };
  const filename = decoder.filename;
  if (typeof filename !== "string" || filename === "") throw new EdgespecError("model_invalid", "genai_config.json does not give model.decoder.filename");
  const window = num(obj(decoder.sliding_window).window_size);
  return {
    filename,
    spec: {
      modelType: typeof model.type === "string" ? model.type : "unknown",
      vocabSize: need("model.vocab_size", num(model.vocab_size)),
      numLayers: need("model.decoder.num_hidden_layers", num(decoder.num_hidden_layers)),
      ...(num(decoder.num_attention_heads) ? { numHeads: num(decoder.num_attention_heads) } : {}),
      numKvHeads: need("model.decoder.num_key_value_heads", num(decoder.num_key_value_heads) ?? num(decoder.num_attention_heads)),
      headDim: need("model.decoder.head_size", num(decoder.head_size)),
      contextLength: num(model.context_length) ?? 2048,
      ...(window !== undefined && window > 0 ? { slidingWindow: window } : {}),
      bosTokenId: ids(model.bos_token_id)[0],
      eosTokenIds: ids(model.eos_token_id),
    },
  };
}
