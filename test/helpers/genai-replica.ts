/**
 * Fused-attention export layouts rebuilt from the reference model's weights, so greedy argmax is
 * the trained model's and nothing has to be downloaded:
 * - `genai`: what the onnxruntime-genai model builder writes for Llama-family models: no
 *   position_ids input, SkipSimplifiedLayerNormalization, a packed (or separate) QKV projection
 *   into com.microsoft.GroupQueryAttention with do_rotary=1, its positions derived from
 *   seqlens_k = sum(attention_mask) - 1, and total_sequence_length from the mask's shape;
 * - `rotary-input`: transformers.js / onnx-community style fused exports: a position_ids input,
 *   com.microsoft.RotaryEmbedding on Q and K, then GroupQueryAttention with do_rotary=0;
 * - `rotary-from-mask`: RotaryEmbedding nodes fed positions computed in the graph from the mask
 *   (cumsum(attention_mask) - 1, last S), no position_ids input.
 * With `attention: "mha"` the layers use com.microsoft.MultiHeadAttention (unidirectional) instead;
 * that op has one KV head per query head, so each of the reference's KV heads is duplicated for
 * the query heads it serves: the same function, as an MHA model (8 KV heads; `MHA_KV_HEADS`).
 * The reference model is Llama-shaped (8 query heads, 4 KV heads, head dim 32, rotate-half RoPE,
 * theta 10000, tied embeddings); its MatMul weights are found by shape and wiring, not by name.
 */
import { DTYPE, initializerField, intAttr } from "../../src/onnx/schema.ts";
import { concatColumns, f32, floatAttr, GraphBuilder, raw, readReference, repeatHeads, ropeTables, transpose } from "./replica-weights.ts";
import { valueInfo } from "../../src/onnx/graph-nodes.ts";

export interface ReplicaOptions {
  /** "genai": positions from the mask inside GQA; "rotary-input": position_ids input + RotaryEmbedding. */
  positions: "genai" | "rotary-input" | "rotary-from-mask";
  /** One [hidden, (H + 2 Hkv) D] projection (the builder's default) or three. */
  packedQkv: boolean;
  /** GroupQueryAttention local_window_size (sliding window); default none. */
  localWindow?: number;
  /** The fused op: GroupQueryAttention (default) or MultiHeadAttention. */
  attention?: "gqa" | "mha";
}

/** KV heads of the MHA replica (config.json num_key_value_heads for it). */
export const MHA_KV_HEADS = 8;

export function genaiReplica(reference: Uint8Array, opts: ReplicaOptions): Uint8Array {
  const H = 8, D = 32, THETA = 10000, MAX_POS = 1024, EPS = 1e-5;
  const REF_KV = 4;
  const mha = opts.attention === "mha";
  const KV = mha ? MHA_KV_HEADS : REF_KV;
  if (mha && (opts.packedQkv || opts.positions === "genai" || opts.localWindow)) throw new Error("genai replica: mha takes separate Q/K/V, RotaryEmbedding positions, no window");
  const ref = readReference(reference);
  const [vocab, hidden] = ref.embed.dims as [number, number];
  const g = new GraphBuilder();
  const init = g.init;
  const weight = (name: string, data: Float32Array, dims: number[]) => g.weight(name, data, dims);
  const node = (op: string, inputs: string[], outputs: string[], attrs: Uint8Array[] = [], domain = "") => g.node(op, inputs, outputs, attrs, domain);
  const ms = "com.microsoft";

  weight("model.embed_tokens.weight", f32(ref.embed), [vocab, hidden]);
  weight("lm_head.weight", transpose(f32(ref.embed), vocab, hidden), [hidden, vocab]);
  // RoPE tables [max positions, D / 2], as the builder precomputes them.
  const { cos, sin } = ropeTables(MAX_POS, D, THETA);
  weight("cos_cache", cos, [MAX_POS, D / 2]);
  weight("sin_cache", sin, [MAX_POS, D / 2]);
  init.push(initializerField("one_i64", DTYPE.int64, raw(BigInt64Array.of(1n)), []));
  init.push(initializerField("axes_1", DTYPE.int64, raw(BigInt64Array.of(1n)), [1]));

  // Sequence lengths for GroupQueryAttention, from the 2D mask (the builder's subgraph).
  node("ReduceSum", ["attention_mask", "axes_1"], ["mask_sum"], [intAttr("keepdims", 0)]);
  node("Sub", ["mask_sum", "one_i64"], ["seqlens_k_i64"]);
  node("Cast", ["seqlens_k_i64"], ["seqlens_k"], [intAttr("to", DTYPE.int32)]);
  node("Shape", ["attention_mask"], ["mask_shape"]);
  node("Gather", ["mask_shape", "one_i64"], ["total_i64"], [intAttr("axis", 0)]);
  node("Cast", ["total_i64"], ["total_seq_len"], [intAttr("to", DTYPE.int32)]);
  node("Gather", ["model.embed_tokens.weight", "input_ids"], ["embeds"]);
  let positionIds = "position_ids";
  if (opts.positions === "rotary-from-mask") {
    // positions = (cumsum(mask) - 1)[:, -S:]
    init.push(initializerField("axis_1", DTYPE.int64, raw(BigInt64Array.of(1n)), []));
    init.push(initializerField("end_max", DTYPE.int64, raw(BigInt64Array.of(2n ** 62n)), [1]));
    node("CumSum", ["attention_mask", "axis_1"], ["mask_cumsum"]);
    node("Sub", ["mask_cumsum", "one_i64"], ["all_positions"]);
    node("Shape", ["input_ids"], ["ids_shape"]);
    node("Gather", ["ids_shape", "axes_1"], ["seq_len"], [intAttr("axis", 0)]);
    node("Neg", ["seq_len"], ["neg_seq_len"]);
    node("Slice", ["all_positions", "neg_seq_len", "end_max", "axes_1"], ["mask_positions"]);
    positionIds = "mask_positions";
  }

  const L = ref.layers.length;
  let residualIn = "embeds";
  let pending = ""; // the previous block's output, added to the residual by the next norm
  const skipNorm = (x: string, gamma: string, out: string, sum: string) => {
    if (!pending) {
      node("SimplifiedLayerNormalization", [x, gamma], [out], [floatAttr("epsilon", EPS), intAttr("axis", -1)]);
      return x;
    }
    node("SkipSimplifiedLayerNormalization", [pending, x, gamma], [out, "", "", sum], [floatAttr("epsilon", EPS)], ms);
    return sum;
  };
  for (let l = 0; l < L; l++) {
    const [q, k, v, o, gate, up, down] = ref.layers[l]!;
    const p = `layers.${l}`;
    weight(`${p}.input_layernorm.weight`, f32(ref.norms.get(`model.layers.${l}.input_layernorm.weight`)!), [hidden]);
    weight(`${p}.post_attention_layernorm.weight`, f32(ref.norms.get(`model.layers.${l}.post_attention_layernorm.weight`)!), [hidden]);
    residualIn = skipNorm(residualIn, `${p}.input_layernorm.weight`, `${p}.attn_in`, `${p}.residual_attn`);
    let qkv: string[];
    if (opts.packedQkv) {
      weight(`${p}.qkv_proj.weight`, concatColumns(hidden, [q!, k!, v!].map((t) => ({ data: f32(t), cols: t.dims[1]! }))), [hidden, (H + 2 * KV) * D]);
      node("MatMul", [`${p}.attn_in`, `${p}.qkv_proj.weight`], [`${p}.qkv`]);
      qkv = [`${p}.qkv`, "", ""];
    } else {
      for (const [name, t] of [["q", q!], ["k", k!], ["v", v!]] as const) {
        if (mha && name !== "q") weight(`${p}.${name}_proj.weight`, repeatHeads(f32(t), hidden, REF_KV, D, KV / REF_KV), [hidden, KV * D]);
        else weight(`${p}.${name}_proj.weight`, f32(t), t.dims);
        node("MatMul", [`${p}.attn_in`, `${p}.${name}_proj.weight`], [`${p}.${name}`]);
      }
      qkv = [`${p}.q`, `${p}.k`, `${p}.v`];
    }
    let doRotary = 1;
    if (opts.positions !== "genai") {
      if (opts.packedQkv) throw new Error(`genai replica: ${opts.positions} takes separate Q/K/V`);
      node("RotaryEmbedding", [`${p}.q`, positionIds, "cos_cache", "sin_cache"], [`${p}.q_rot`], [intAttr("num_heads", H)], ms);
      node("RotaryEmbedding", [`${p}.k`, positionIds, "cos_cache", "sin_cache"], [`${p}.k_rot`], [intAttr("num_heads", KV)], ms);
      qkv = [`${p}.q_rot`, `${p}.k_rot`, `${p}.v`];
      doRotary = 0;
    }
    if (mha) {
      node("MultiHeadAttention", [...qkv, "", "", "", `past_key_values.${l}.key`, `past_key_values.${l}.value`], [`${p}.attn`, `present.${l}.key`, `present.${l}.value`], [intAttr("num_heads", H), intAttr("unidirectional", 1)], ms);
    } else {
      const gqaAttrs = [intAttr("num_heads", H), intAttr("kv_num_heads", KV), intAttr("do_rotary", doRotary), intAttr("rotary_interleaved", 0)];
      if (opts.localWindow) gqaAttrs.push(intAttr("local_window_size", opts.localWindow));
      node("GroupQueryAttention", [...qkv, `past_key_values.${l}.key`, `past_key_values.${l}.value`, "seqlens_k", "total_seq_len", "cos_cache", "sin_cache"], [`${p}.attn`, `present.${l}.key`, `present.${l}.value`], gqaAttrs, ms);
    }
    weight(`${p}.o_proj.weight`, f32(o!), o!.dims);
    node("MatMul", [`${p}.attn`, `${p}.o_proj.weight`], [`${p}.attn_out`]);
    pending = `${p}.attn_out`;
    residualIn = skipNorm(residualIn, `${p}.post_attention_layernorm.weight`, `${p}.mlp_in`, `${p}.residual_mlp`);
    for (const [name, t] of [["gate", gate!], ["up", up!], ["down", down!]] as const) weight(`${p}.${name}_proj.weight`, f32(t), t.dims);
    node("MatMul", [`${p}.mlp_in`, `${p}.gate_proj.weight`], [`${p}.gate`]);
    node("Sigmoid", [`${p}.gate`], [`${p}.gate_sig`]);
    node("Mul", [`${p}.gate`, `${p}.gate_sig`], [`${p}.gate_silu`]);
    node("MatMul", [`${p}.mlp_in`, `${p}.up_proj.weight`], [`${p}.up`]);
    node("Mul", [`${p}.gate_silu`, `${p}.up`], [`${p}.mlp_act`]);
    node("MatMul", [`${p}.mlp_act`, `${p}.down_proj.weight`], [`${p}.mlp_out`]);
    pending = `${p}.mlp_out`;
  }
  weight("model.norm.weight", f32(ref.norms.get("model.norm.weight")!), [hidden]);
  skipNorm(residualIn, "model.norm.weight", "final_norm", "final_residual");
  node("MatMul", ["final_norm", "lm_head.weight"], ["logits"]);

  return g.model(opts.positions === "rotary-input" ? [valueInfo("position_ids", DTYPE.int64, ["batch_size", "sequence_length"])] : [], vocab, L, KV, D, [["", 17], [ms, 1]]);
}
