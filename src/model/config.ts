/**
 * Reads the numbers the runtime needs from a Hugging Face `config.json` (+ generation_config.json),
 * whatever the architecture calls them. Models are described by config, never by name checks.
 */
import { EdgespecError } from "../errors.ts";

export interface ModelSpec {
  modelType: string;
  vocabSize: number;
  numLayers: number;
  /** Query heads (a graph rewrite groups them by KV head); absent when the config does not say. */
  numHeads?: number;
  numKvHeads: number;
  headDim: number;
  contextLength: number;
  /** Sliding-window attention span, when the architecture uses one (Mistral, Gemma-2/3, Qwen2 with use_sliding_window). */
  slidingWindow?: number;
  bosTokenId: number | undefined;
  eosTokenIds: number[];
}

type Json = Record<string, unknown>;

/** Alternative names architectures use for the same quantity, first match wins. */
const FIELD_ALIASES = {
  numLayers: ["num_hidden_layers", "n_layer", "num_layers"],
  numHeads: ["num_attention_heads", "n_head"],
  numKvHeads: ["num_key_value_heads", "num_kv_heads", "n_head_kv"],
  hiddenSize: ["hidden_size", "n_embd", "d_model"],
  context: ["max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"],
} as const;

function pick(cfg: Json, names: readonly string[]): number | undefined {
  for (const n of names) {
    const v = cfg[n];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return undefined;
}

/** Token ids given as one number or a list (bos/eos fields). */
export function ids(v: unknown): number[] {
  if (typeof v === "number") return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === "number");
  return [];
}

export function readModelSpec(config: unknown, generationConfig: unknown = {}): ModelSpec {
  if (typeof config !== "object" || config === null) {
    throw new EdgespecError("model_invalid", "config.json is not a JSON object");
  }
  const cfg = config as Json;
  const gen = (typeof generationConfig === "object" && generationConfig) || {};
  const need = (what: string, v: number | undefined): number => {
    if (v === undefined || v <= 0) {
      throw new EdgespecError("model_invalid", `config.json does not give ${what}`);
    }
    return v;
  };
  const numHeads = need("num_attention_heads", pick(cfg, FIELD_ALIASES.numHeads));
  const hidden = need("hidden_size", pick(cfg, FIELD_ALIASES.hiddenSize));
  const slidingWindow = pick(cfg, ["sliding_window"]);
  const eos = ids((gen as Json).eos_token_id ?? cfg.eos_token_id);
  return {
    modelType: typeof cfg.model_type === "string" ? cfg.model_type : "unknown",
    vocabSize: need("vocab_size", pick(cfg, ["vocab_size"])),
    numLayers: need("num_hidden_layers", pick(cfg, FIELD_ALIASES.numLayers)),
    numHeads,
    numKvHeads: pick(cfg, FIELD_ALIASES.numKvHeads) ?? numHeads,
    headDim: pick(cfg, ["head_dim"]) ?? hidden / numHeads,
    contextLength: pick(cfg, FIELD_ALIASES.context) ?? 2048,
    ...(slidingWindow !== undefined && slidingWindow > 0 && cfg.use_sliding_window !== false ? { slidingWindow } : {}),
    bosTokenId: ids((gen as Json).bos_token_id ?? cfg.bos_token_id)[0],
    eosTokenIds: eos,
  };
}
