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
import { bytesField, concat, type Field, parseFields, stringField, text, varintField } from "../../src/onnx/protobuf.ts";
import { DIM, DTYPE, GRAPH, initializerField, intAttr, MODEL, NODE, nodeField, SHAPE, TENSOR, TENSOR_TYPE, TYPE, VALUE_INFO } from "../../src/onnx/schema.ts";

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

/** K or V projection [hidden, KV * D] with each head repeated `rep` times: [hidden, KV * rep * D]. */
function repeatHeads(w: Float32Array, hidden: number, kv: number, d: number, rep: number): Float32Array {
  const out = new Float32Array(hidden * kv * rep * d);
  for (let r = 0; r < hidden; r++) {
    for (let h = 0; h < kv * rep; h++) out.set(w.subarray(r * kv * d + Math.floor(h / rep) * d, r * kv * d + (Math.floor(h / rep) + 1) * d), r * kv * rep * d + h * d);
  }
  return out;
}

interface Tensor {
  dims: number[];
  raw: Uint8Array;
}

const f32 = (t: Tensor) => new Float32Array(t.raw.slice().buffer);
const raw = (a: Float32Array | BigInt64Array) => new Uint8Array(a.buffer.slice(0));

function valueInfo(name: string, elemType: number, dims: (number | string)[]): Uint8Array {
  const shape = concat(dims.map((d) => bytesField(SHAPE.dim, typeof d === "number" ? varintField(DIM.value, d) : stringField(DIM.param, d))));
  const tensor = concat([varintField(TENSOR_TYPE.elemType, elemType), bytesField(TENSOR_TYPE.shape, shape)]);
  return concat([stringField(VALUE_INFO.name, name), bytesField(VALUE_INFO.type, bytesField(TYPE.tensor, tensor))]);
}

function floatAttr(name: string, v: number): Uint8Array {
  const b = new Uint8Array(5);
  b[0] = (2 << 3) | 5; // AttributeProto.f, fixed32
  new DataView(b.buffer).setFloat32(1, v, true);
  return concat([stringField(1, name), b, varintField(20, 1)]);
}

/** [rows, cols] -> [cols, rows]. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/** Concatenates [rows, c_i] matrices along columns. */
function concatColumns(rows: number, parts: { data: Float32Array; cols: number }[]): Float32Array {
  const total = parts.reduce((s, p) => s + p.cols, 0);
  const out = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let off = 0;
    for (const p of parts) {
      out.set(p.data.subarray(r * p.cols, (r + 1) * p.cols), r * total + off);
      off += p.cols;
    }
  }
  return out;
}

interface ReferenceWeights {
  embed: Tensor;
  norms: Map<string, Tensor>;
  /** Per layer: q, k, v, o, gate, up, down ([in, out] MatMul weights). */
  layers: Tensor[][];
}

function readReference(model: Uint8Array): ReferenceWeights {
  const graph = parseFields(parseFields(model).find((f) => f.no === MODEL.graph)!.body);
  const inits = new Map<string, Tensor>();
  for (const f of graph.filter((g) => g.no === GRAPH.initializer)) {
    const t = parseFields(f.body);
    inits.set(text(t.find((x) => x.no === TENSOR.name)!.body), { dims: t.filter((x) => x.no === TENSOR.dims).map((x) => x.value), raw: t.find((x) => x.no === TENSOR.rawData)!.body });
  }
  const nodes = graph.filter((g) => g.no === GRAPH.node).map((g: Field) => {
    const f = parseFields(g.body);
    return { op: text(f.find((x) => x.no === NODE.opType)!.body), inputs: f.filter((x) => x.no === NODE.input).map((x) => text(x.body)), outputs: f.filter((x) => x.no === NODE.output).map((x) => text(x.body)) };
  });
  const feedsSigmoid = new Set(nodes.filter((n) => n.op === "Sigmoid").map((n) => n.inputs[0]));
  const weights = nodes.filter((n) => n.op === "MatMul" && inits.has(n.inputs[1]!)).map((n) => ({ w: inits.get(n.inputs[1]!)!, gate: feedsSigmoid.has(n.outputs[0]) }));
  if (weights.length % 7 !== 0) throw new Error(`genai replica: expected 7 MatMul weights per layer, found ${weights.length}`);
  const layers: Tensor[][] = [];
  for (let l = 0; l < weights.length / 7; l++) {
    const [q, k, v, o, a, b, down] = weights.slice(7 * l, 7 * l + 7);
    // gate feeds the SiLU's Sigmoid; up is the other [hidden, intermediate] projection.
    const [gate, up] = a!.gate ? [a!, b!] : [b!, a!];
    layers.push([q!.w, k!.w, v!.w, o!.w, gate.w, up.w, down!.w]);
  }
  const norms = new Map([...inits].filter(([n]) => n.endsWith("norm.weight")));
  return { embed: inits.get("model.embed_tokens.weight")!, norms, layers };
}

export function genaiReplica(reference: Uint8Array, opts: ReplicaOptions): Uint8Array {
  const H = 8, D = 32, THETA = 10000, MAX_POS = 1024, EPS = 1e-5;
  const REF_KV = 4;
  const mha = opts.attention === "mha";
  const KV = mha ? MHA_KV_HEADS : REF_KV;
  if (mha && (opts.packedQkv || opts.positions === "genai" || opts.localWindow)) throw new Error("genai replica: mha takes separate Q/K/V, RotaryEmbedding positions, no window");
  const ref = readReference(reference);
  const [vocab, hidden] = ref.embed.dims as [number, number];
  const init: Uint8Array[] = [];
  const nodes: Uint8Array[] = [];
  const weight = (name: string, data: Float32Array, dims: number[]) => init.push(initializerField(name, DTYPE.float, raw(data), dims));
  const node = (op: string, inputs: string[], outputs: string[], attrs: Uint8Array[] = [], domain = "") => {
    const n = nodeField(op, inputs, outputs, `${op}_${nodes.length}`, attrs);
    nodes.push(domain ? bytesField(GRAPH.node, concat([parseFields(n)[0]!.body, stringField(NODE.domain, domain)])) : n);
  };
  const ms = "com.microsoft";

  weight("model.embed_tokens.weight", f32(ref.embed), [vocab, hidden]);
  weight("lm_head.weight", transpose(f32(ref.embed), vocab, hidden), [hidden, vocab]);
  // RoPE tables [max positions, D / 2], as the builder precomputes them.
  const cos = new Float32Array(MAX_POS * (D / 2));
  const sin = new Float32Array(MAX_POS * (D / 2));
  for (let p = 0; p < MAX_POS; p++) {
    for (let i = 0; i < D / 2; i++) {
      const invFreq = Math.fround(1 / THETA ** ((2 * i) / D));
      const angle = Math.fround(p * invFreq);
      cos[p * (D / 2) + i] = Math.cos(angle);
      sin[p * (D / 2) + i] = Math.sin(angle);
    }
  }
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

  const kvDims = (past: string) => ["batch_size", KV, past, D];
  const inputs = [
    valueInfo("input_ids", DTYPE.int64, ["batch_size", "sequence_length"]),
    valueInfo("attention_mask", DTYPE.int64, ["batch_size", "total_sequence_length"]),
    ...(opts.positions === "rotary-input" ? [valueInfo("position_ids", DTYPE.int64, ["batch_size", "sequence_length"])] : []),
    ...Array.from({ length: L }, (_, l) => [valueInfo(`past_key_values.${l}.key`, DTYPE.float, kvDims("past_sequence_length")), valueInfo(`past_key_values.${l}.value`, DTYPE.float, kvDims("past_sequence_length"))]).flat(),
  ];
  const outputs = [
    valueInfo("logits", DTYPE.float, ["batch_size", "sequence_length", vocab]),
    ...Array.from({ length: L }, (_, l) => [valueInfo(`present.${l}.key`, DTYPE.float, kvDims("total_sequence_length")), valueInfo(`present.${l}.value`, DTYPE.float, kvDims("total_sequence_length"))]).flat(),
  ];
  const graph = concat([...nodes, stringField(2, "genai_replica"), ...init, ...inputs.map((i) => bytesField(GRAPH.input, i)), ...outputs.map((o) => bytesField(GRAPH.output, o))]);
  const opset = (domain: string, version: number) => bytesField(MODEL.opsetImport, concat([stringField(1, domain), varintField(2, version)]));
  return concat([varintField(1, 8), stringField(2, "edgespec-test"), bytesField(MODEL.graph, graph), opset("", 17), opset(ms, 1)]);
}
