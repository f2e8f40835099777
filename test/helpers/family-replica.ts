/**
 * Decomposed-attention exports of other model families (Optimum / transformers.js layout:
 * input_ids, attention_mask, position_ids, past_key_values.*), rebuilt from the reference
 * model's weights with each family's structural quirks, so the tree rewrite is tested on the
 * shapes those exports have:
 * - `qwen2`: biases on the q/k/v projections;
 * - `qwen3`: RMSNorm on q and k per head before rotary;
 * - `phi3`: one fused qkv projection and one fused gate_up projection, split in the graph;
 * - `gemma2`: norms as x * (1 + w), input embeddings scaled by sqrt(hidden), attention logits
 *   soft-capped (tanh(s / 50) * 50) before the mask, final logits soft-capped at 30, and a
 *   sliding-window causal mask (config.json sliding_window).
 * The reference's KV heads are duplicated per query head (the same function, 8 KV heads) so
 * attention needs no repeat_kv. Biases, q/k norms and soft caps change the function a little:
 * the ground truth for these replicas is their own unrewritten graph.
 */
import { DTYPE, intAttr, intsAttr } from "../../src/onnx/schema.ts";
import { concatColumns, f32, GraphBuilder, readReference, repeatHeads, ropeTables, transpose } from "./replica-weights.ts";
import { valueInfo } from "../../src/onnx/graph-nodes.ts";

export type Family = "qwen2" | "qwen3" | "phi3" | "gemma2";
/** KV heads of these replicas (config.json num_key_value_heads). */
export const FAMILY_KV_HEADS = 8;
/** Gemma-2's sliding window in the replica (config.json sliding_window). */
export const GEMMA_WINDOW = 32;

export function familyReplica(reference: Uint8Array, family: Family): Uint8Array {
  const H = 8, D = 32, THETA = 10000, MAX_POS = 1024, EPS = 1e-5, REF_KV = 4;
  const ref = readReference(reference);
  const [vocab, hidden] = ref.embed.dims as [number, number];
  const g = new GraphBuilder();
  const gemma = family === "gemma2";
  const embed = f32(ref.embed);
  // Gemma multiplies input embeddings by sqrt(hidden): store them divided, so the function holds.
  g.weight("embed_tokens", gemma ? embed.map((x) => x / Math.sqrt(hidden)) : embed, [vocab, hidden]);
  g.weight("lm_head", transpose(embed, vocab, hidden), [hidden, vocab]);
  const { cos, sin } = ropeTables(MAX_POS, D, THETA);
  // Full-width tables [positions, D] (cos of both halves), gathered by position_ids.
  const full = (t: Float32Array) => concatColumns(MAX_POS, [{ data: t, cols: D / 2 }, { data: t, cols: D / 2 }]);
  g.weight("cos_table", full(cos), [MAX_POS, D]);
  g.weight("sin_table", full(sin), [MAX_POS, D]);
  g.int64("axis_last", [-1]);
  g.int64("heads_shape", [0, 0, H, D]);
  g.int64("merge_shape", [0, 0, H * D]);
  g.int64("one", [1], []);
  g.int64("zero", [0], []);
  g.int64("half_split", [D / 2, D / 2]);
  g.float("eps", EPS);
  g.float("neg_big", -3.4028234663852886e38);
  g.float("scale", 1 / Math.sqrt(D));
  g.float("one_f", 1);
  g.float("softcap_attn", 50);
  g.float("softcap_final", 30);

  // RoPE rows for these tokens: [B, 1, S, D].
  g.node("Gather", ["cos_table", "position_ids"], ["cos_bsd"]);
  g.node("Gather", ["sin_table", "position_ids"], ["sin_bsd"]);
  g.int64("axes_1", [1]);
  g.node("Unsqueeze", ["cos_bsd", "axes_1"], ["cos"]);
  g.node("Unsqueeze", ["sin_bsd", "axes_1"], ["sin"]);
  // Causal mask by index (cache_position = past + i, as transformers builds it), [B or 1, 1, S, T].
  g.node("Shape", ["attention_mask"], ["mask_shape"]);
  g.node("Gather", ["mask_shape", "one"], ["total"], [intAttr("axis", 0)]);
  g.node("Shape", ["input_ids"], ["ids_shape"]);
  g.node("Gather", ["ids_shape", "one"], ["seq"], [intAttr("axis", 0)]);
  g.node("Sub", ["total", "seq"], ["past"]);
  g.node("Range", ["zero", "total", "one"], ["key_index"]);
  g.node("Range", ["past", "total", "one"], ["query_index"]);
  g.node("Unsqueeze", ["query_index", "axes_1"], ["query_col"]); // [S, 1]
  g.node("LessOrEqual", ["key_index", "query_col"], ["causal"]); // [S, T]
  let allowed = "causal";
  if (gemma) {
    g.int64("window", [GEMMA_WINDOW], []);
    g.node("Sub", ["query_col", "window"], ["window_start"]);
    g.node("Greater", ["key_index", "window_start"], ["in_window"]);
    allowed = g.node("And", ["causal", "in_window"], ["allowed"]);
  }
  g.node("Where", [allowed, "zero_f", "neg_big"], ["mask_st"]);
  g.float("zero_f", 0);
  g.node("Unsqueeze", ["mask_st", "axes_01"], ["mask"]);
  g.int64("axes_01", [0, 1]);

  const rms = (x: string, w: Float32Array, name: string, axisLen: number) => {
    // Gemma stores w - 1 and computes x * (1 + w): the same scale.
    const wName = g.weight(`${name}.weight`, gemma ? w.map((v) => v - 1) : w, [axisLen]);
    g.node("Mul", [x, x], [`${name}.sq`]);
    g.node("ReduceMean", [`${name}.sq`], [`${name}.ms`], [intsAttr("axes", [-1]), intAttr("keepdims", 1)]);
    g.node("Add", [`${name}.ms`, "eps"], [`${name}.mse`]);
    g.node("Sqrt", [`${name}.mse`], [`${name}.rms`]);
    g.node("Div", [x, `${name}.rms`], [`${name}.normed`]);
    if (!gemma) return g.node("Mul", [`${name}.normed`, wName], [`${name}.out`]);
    g.node("Add", [wName, "one_f"], [`${name}.scale`]);
    return g.node("Mul", [`${name}.normed`, `${name}.scale`], [`${name}.out`]);
  };
  const rotate = (x: string, name: string) => {
    g.node("Split", [x, "half_split"], [`${name}.x1`, `${name}.x2`], [intAttr("axis", -1)]);
    g.node("Neg", [`${name}.x2`], [`${name}.nx2`]);
    g.node("Concat", [`${name}.nx2`, `${name}.x1`], [`${name}.rot`], [intAttr("axis", -1)]);
    g.node("Mul", [x, "cos"], [`${name}.c`]);
    g.node("Mul", [`${name}.rot`, "sin"], [`${name}.s`]);
    return g.node("Add", [`${name}.c`, `${name}.s`], [`${name}.roped`]);
  };
  const ones = new Float32Array(D).fill(1);

  g.node("Gather", ["embed_tokens", "input_ids"], ["h0"]);
  let h = "h0";
  ref.layers.forEach(([q, k, v, o, gate, up, down], l) => {
    const p = `l${l}`;
    const x = rms(h, f32(ref.norms.get(`model.layers.${l}.input_layernorm.weight`)!), `${p}.in_norm`, hidden);
    const kvw = (t: typeof k) => repeatHeads(f32(t!), hidden, REF_KV, D, H / REF_KV);
    const proj: Record<"q" | "k" | "v", string> = { q: "", k: "", v: "" };
    if (family === "phi3") {
      g.weight(`${p}.qkv`, concatColumns(hidden, [{ data: f32(q!), cols: H * D }, { data: kvw(k), cols: H * D }, { data: kvw(v), cols: H * D }]), [hidden, 3 * H * D]);
      g.node("MatMul", [x, `${p}.qkv`], [`${p}.qkv_out`]);
      g.int64(`${p}.qkv_split`, [H * D, H * D, H * D]);
      g.node("Split", [`${p}.qkv_out`, `${p}.qkv_split`], [`${p}.q`, `${p}.k`, `${p}.v`], [intAttr("axis", -1)]);
      Object.assign(proj, { q: `${p}.q`, k: `${p}.k`, v: `${p}.v` });
    } else {
      for (const [name, w] of [["q", f32(q!)], ["k", kvw(k)], ["v", kvw(v)]] as const) {
        g.weight(`${p}.${name}_proj`, w, [hidden, H * D]);
        proj[name] = g.node("MatMul", [x, `${p}.${name}_proj`], [`${p}.${name}_mm`]);
        if (family === "qwen2") {
          const bias = Float32Array.from({ length: H * D }, (_, i) => 0.02 * Math.sin(i + l));
          g.weight(`${p}.${name}_bias`, bias, [H * D]);
          proj[name] = g.node("Add", [proj[name], `${p}.${name}_bias`], [`${p}.${name}_b`]);
        }
      }
    }
    const heads = (t: string, name: string) => {
      g.node("Reshape", [t, "heads_shape"], [`${p}.${name}_bshd`]);
      let y = `${p}.${name}_bshd`;
      if (family === "qwen3" && name !== "v") y = rms(y, ones, `${p}.${name}_norm`, D);
      return g.node("Transpose", [y], [`${p}.${name}_bhsd`], [intsAttr("perm", [0, 2, 1, 3])]);
    };
    const qh = rotate(heads(proj.q, "q"), `${p}.q`);
    const kh = rotate(heads(proj.k, "k"), `${p}.k`);
    const vh = heads(proj.v, "v");
    g.node("Concat", [`past_key_values.${l}.key`, kh], [`present.${l}.key`], [intAttr("axis", 2)]);
    g.node("Concat", [`past_key_values.${l}.value`, vh], [`present.${l}.value`], [intAttr("axis", 2)]);
    g.node("Transpose", [`present.${l}.key`], [`${p}.kT`], [intsAttr("perm", [0, 1, 3, 2])]);
    g.node("MatMul", [qh, `${p}.kT`], [`${p}.qk`]);
    let scores = g.node("Mul", [`${p}.qk`, "scale"], [`${p}.scores`]);
    if (gemma) {
      g.node("Div", [scores, "softcap_attn"], [`${p}.sc_div`]);
      g.node("Tanh", [`${p}.sc_div`], [`${p}.sc_tanh`]);
      scores = g.node("Mul", [`${p}.sc_tanh`, "softcap_attn"], [`${p}.capped`]);
    }
    g.node("Add", [scores, "mask"], [`${p}.masked`]);
    g.node("Softmax", [`${p}.masked`], [`${p}.probs`], [intAttr("axis", -1)]);
    g.node("MatMul", [`${p}.probs`, `present.${l}.value`], [`${p}.ctx`]);
    g.node("Transpose", [`${p}.ctx`], [`${p}.ctx_bshd`], [intsAttr("perm", [0, 2, 1, 3])]);
    g.node("Reshape", [`${p}.ctx_bshd`, "merge_shape"], [`${p}.ctx_merged`]);
    g.weight(`${p}.o_proj`, f32(o!), o!.dims);
    g.node("MatMul", [`${p}.ctx_merged`, `${p}.o_proj`], [`${p}.attn_out`]);
    const h1 = g.node("Add", [h, `${p}.attn_out`], [`${p}.h_attn`]);
    const y = rms(h1, f32(ref.norms.get(`model.layers.${l}.post_attention_layernorm.weight`)!), `${p}.post_norm`, hidden);
    const inter = gate!.dims[1]!;
    let gateOut: string;
    let upOut: string;
    if (family === "phi3") {
      g.weight(`${p}.gate_up`, concatColumns(hidden, [{ data: f32(gate!), cols: inter }, { data: f32(up!), cols: inter }]), [hidden, 2 * inter]);
      g.node("MatMul", [y, `${p}.gate_up`], [`${p}.gu`]);
      g.int64(`${p}.gu_split`, [inter, inter]);
      g.node("Split", [`${p}.gu`, `${p}.gu_split`], [`${p}.gate`, `${p}.up`], [intAttr("axis", -1)]);
      [gateOut, upOut] = [`${p}.gate`, `${p}.up`];
    } else {
      g.weight(`${p}.gate_proj`, f32(gate!), gate!.dims);
      g.weight(`${p}.up_proj`, f32(up!), up!.dims);
      gateOut = g.node("MatMul", [y, `${p}.gate_proj`], [`${p}.gate`]);
      upOut = g.node("MatMul", [y, `${p}.up_proj`], [`${p}.up`]);
    }
    g.node("Sigmoid", [gateOut], [`${p}.gate_sig`]);
    g.node("Mul", [gateOut, `${p}.gate_sig`], [`${p}.gate_act`]);
    g.node("Mul", [`${p}.gate_act`, upOut], [`${p}.act`]);
    g.weight(`${p}.down_proj`, f32(down!), down!.dims);
    g.node("MatMul", [`${p}.act`, `${p}.down_proj`], [`${p}.mlp_out`]);
    h = g.node("Add", [h1, `${p}.mlp_out`], [`${p}.h_out`]);
  });
  const last = rms(h, f32(ref.norms.get("model.norm.weight")!), "final_norm", hidden);
  if (gemma) {
    g.node("MatMul", [last, "lm_head"], ["raw_logits"]);
    g.node("Div", ["raw_logits", "softcap_final"], ["lg_div"]);
    g.node("Tanh", ["lg_div"], ["lg_tanh"]);
    g.node("Mul", ["lg_tanh", "softcap_final"], ["logits"]);
  } else {
    g.node("MatMul", [last, "lm_head"], ["logits"]);
  }
  return g.model([valueInfo("position_ids", DTYPE.int64, ["batch_size", "sequence_length"])], vocab, ref.layers.length, FAMILY_KV_HEADS, D, [["", 14]]);
}
