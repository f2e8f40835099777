/**
 * GroupQueryAttention written out in plain ops, for the WebAssembly backend.
 *
 * onnxruntime-web's WASM kernel for com.microsoft GroupQueryAttention is fast for one new token
 * and very slow for several after a cache: a tree verify or a prompt chunk. Measured on a
 * GQA replica of edgespec-tiny (onnxruntime-builder shapes), 2 threads, after 300 cached
 * positions: 2.0 ms for 1 token, 5.8 ms for 2, 10.7 for 4, 19.9 for 8 (the same model's
 * decomposed export: 2.0, 2.2, 3.0, 4.3); on the native CPU backend the fused kernel is the
 * faster one and is kept. So on WASM every float32 GQA node becomes the attention a decomposed
 * export computes, in the shape the rewrites after it know (the KV cache passed append-only,
 * kv-append.ts; both products reading it sequence-major, seq-major-attention.ts):
 *
 *   q, k, v   = Reshape(query [, key, value])  ([B, S, heads, D]; packed QKV split by heads)
 *   q, k      = rotary(q, k) at position_ids (or past + i) when do_rotary=1 (half-split layout)
 *   present.k = Concat(past_key, Transpose(k)), present.v likewise   ([B, Hkv, T, D])
 *   scores    = MatMul(Reshape(Q, [B, Hkv, G*S, D]), Transpose(present.k)) · scale
 *   probs     = Softmax(scores + mask), mask = causal (and local window) + attention_bias, tiled G times
 *   output    = Reshape(Transpose(Reshape(MatMul(probs, present.v), [B, H, S, D])), [B, S, H*D])
 *
 * Query head h reads KV head h / G (G = heads / kv heads), as in the kernel; a group's query heads
 * are rows of one matrix, so the cache is read once per KV head. Batch 1 with a mask of ones and
 * a past of exactly the cached positions (the only way edgespec feeds a graph, never a shared
 * max-length buffer): past = total_sequence_length - S. Nodes with what this does not write out
 * (softcap, smooth softmax, interleaved or partial rotary, a head sink, the QK output, an
 * attention bias other than the tree rewrite's [1, 1, S, T]) keep the kernel; so do float16
 * graphs (the CPU provider's MatMul is float32 on WASM).
 */
import { ATTENTION_BIAS_INPUT, BIAS_CAST_PREFIX } from "./attention-bias.ts";
import { graphNodes, MS_DOMAIN, type NodeView } from "./graph-nodes.ts";
import { type Field, parseFields, text, withGraphBody } from "./protobuf.ts";
import { ATTR, defaultOpset, DTYPE, GRAPH, initializerField, int64Raw, intAttr, intsAttr, MODEL, nodeField, NODE, TENSOR } from "./schema.ts";

export interface GqaDecomposeResult {
  bytes: Uint8Array;
  /** GroupQueryAttention nodes written out. */
  rewritten: number;
  /** Why nodes were kept fused, when some were. */
  reason?: string;
}

const PREFIX = "edgespec_unfused";
/** GroupQueryAttention's inputs by index (onnxruntime's contrib op schema). */
const IN = { query: 0, key: 1, value: 2, pastKey: 3, pastValue: 4, total: 6, cos: 7, sin: 8, positions: 9, bias: 10 } as const;

/** Float attributes of a node (`scale`, `softcap`), by name. */
function floatAttrs(n: NodeView): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of parseFields(n.field.body)) {
    if (f.no !== NODE.attribute) continue;
    const a = parseFields(f.body);
    const name = a.find((x) => x.no === ATTR.name);
    const v = a.find((x) => x.no === 2); // AttributeProto.f: a fixed32 float
    if (name && v) out.set(text(name.body), new DataView(v.raw.buffer, v.raw.byteOffset + v.raw.length - 4, 4).getFloat32(0, true));
  }
  return out;
}

/** What keeps a node fused, or undefined when it can be written out. */
function keepsKernel(n: NodeView, floats: Map<string, number>, graph: readonly Field[], D: number): string | undefined {
  if ((floats.get("softcap") ?? 0) !== 0) return "softcap";
  if ((n.ints.get("smooth_softmax") ?? 0) !== 0) return "smooth_softmax";
  if ((n.ints.get("qk_output") ?? 0) !== 0 || n.outputs.length > 3) return "the QK output";
  if (n.ints.get("do_rotary") === 1 && (n.ints.get("rotary_interleaved") ?? 0) !== 0) return "interleaved rotary";
  if (n.inputs.slice(IN.bias + 1).some((i) => i !== "")) return "a head sink input";
  if (!n.inputs[IN.pastKey] || !n.inputs[IN.pastValue]) return "no past cache inputs";
  if (!n.inputs[IN.total]) return "no total_sequence_length input";
  // The tree rewrite's bias ([1, 1, S, T], cast per node) only: an export's own bias may be per head.
  const bias = n.inputs[IN.bias];
  if (bias && bias !== ATTENTION_BIAS_INPUT && !bias.startsWith(BIAS_CAST_PREFIX)) return "an attention bias of the export's own";
  if (n.ints.get("do_rotary") === 1) {
    // Full rotary from constant tables only: a partial rotary dim has not been seen in an export here.
    const cos = initializerDims(graph, n.inputs[IN.cos] ?? "");
    const sin = initializerDims(graph, n.inputs[IN.sin] ?? "");
    if (cos?.length !== 2 || sin?.length !== 2) return "cos/sin caches that are not constant tables";
    if (cos[1] !== D / 2 || sin[1] !== D / 2 || D % 2 !== 0) return "a partial rotary dim";
  }
  const H = n.ints.get("num_heads") ?? 0;
  const Hkv = n.ints.get("kv_num_heads") ?? 0;
  if (!(H > 0 && Hkv > 0 && H % Hkv === 0)) return "head counts";
  return undefined;
}

/** Dims of an initializer named `name`, if the graph holds one. */
function initializerDims(graph: readonly Field[], name: string): number[] | undefined {
  for (const f of graph) {
    if (f.no !== GRAPH.initializer) continue;
    const t = parseFields(f.body);
    const n = t.find((x) => x.no === TENSOR.name);
    if (n && text(n.body) === name) return t.filter((x) => x.no === TENSOR.dims).map((x) => x.value);
  }
  return undefined;
}

function floatRaw(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/**
 * Every float32 GroupQueryAttention node of the graph in plain ops (see above). `headDim` is the
 * model's head size (config.json): it shapes the reshapes and sets the default scale.
 */
export function decomposeGroupQueryAttention(bytes: Uint8Array, opts: { headDim: number }): GqaDecomposeResult {
  const D = opts.headDim;
  const model = parseFields(bytes);
  const graphField = model.find((f) => f.no === MODEL.graph);
  if (!graphField || !(D > 0)) return { bytes, rewritten: 0 };
  if (defaultOpset(model) < 13) return { bytes, rewritten: 0, reason: "opset < 13" };
  const graph = parseFields(graphField.body);
  const nodes = graphNodes(graph);
  if (nodes.some((n) => n.outputs.some((o) => o.startsWith(PREFIX)))) return { bytes, rewritten: 0 }; // already rewritten
  const gqa = nodes.filter((n) => n.op === "GroupQueryAttention" && n.domain === MS_DOMAIN);
  const kept: string[] = [];
  const todo = gqa.filter((n) => {
    const why = keepsKernel(n, floatAttrs(n), graph, D);
    if (why) kept.push(why);
    return !why;
  });
  if (todo.length === 0) return { bytes, rewritten: 0, ...(kept.length ? { reason: kept[0] } : {}) };

  const init: Uint8Array[] = [];
  const ints = (name: string, values: number[], dims: number[] = [values.length]) => {
    init.push(initializerField(`${PREFIX}_${name}`, DTYPE.int64, int64Raw(values), dims));
    return `${PREFIX}_${name}`;
  };
  const floats = (name: string, values: number[], dims: number[] = []) => {
    init.push(initializerField(`${PREFIX}_${name}`, DTYPE.float, floatRaw(values), dims));
    return `${PREFIX}_${name}`;
  };
  const axis0 = ints("axis0", [0]);
  const axis1 = ints("axis1", [1]);
  const axis2 = ints("axis2", [2]);
  const axis3 = ints("axis3", [3]);
  const axes01 = ints("axes01", [0, 1]);
  const zero = ints("zero", [0], []);
  const one = ints("one", [1], []);
  const fzero = floats("fzero", [0]);
  const fneg = floats("fneg_inf", [-Infinity]);

  // Shared by every layer: the total length T, the new length S, the past length P = T - S, and
  // the causal mask [S, T] per local window (0 visible, -inf not): key j is visible to new token i
  // when j <= P + i and, with window w, j > P + i - w (its last w keys, its own included: what
  // onnxruntime 1.30's kernel computes, test/onnx/gqa-decompose.test.ts).
  const first = todo[0]!;
  const shared: Uint8Array[] = [];
  const node = (list: Uint8Array[], op: string, inputs: string[], out: string, attrs: Uint8Array[] = []) => {
    list.push(nodeField(op, inputs, [out], out, attrs));
    return out;
  };
  // T from the node's total_sequence_length input, not the past's shape: a Shape of the past would
  // keep alive the head-major copy of the cache that the append rewrite adds and
  // seq-major-attention.ts removes when nothing else reads it.
  const totalLen = node(shared, "Cast", [first.inputs[IN.total]!], `${PREFIX}_total_len`, [intAttr("to", DTYPE.int64)]);
  const newLen = node(shared, "Gather", [node(shared, "Shape", [first.inputs[IN.query]!], `${PREFIX}_query_shape`), one], `${PREFIX}_new_len`, [intAttr("axis", 0)]);
  const pastLen = node(shared, "Sub", [totalLen, newLen], `${PREFIX}_past_len`);
  const rows = node(shared, "Range", [pastLen, totalLen, one], `${PREFIX}_rows`); // P + i
  const cols = node(shared, "Range", [zero, totalLen, one], `${PREFIX}_cols`); // j
  const rowCol = node(shared, "Unsqueeze", [rows, axis1], `${PREFIX}_rows_col`); // [S, 1]
  const colRow = node(shared, "Unsqueeze", [cols, axis0], `${PREFIX}_cols_row`); // [1, T]
  const causal = node(shared, "LessOrEqual", [colRow, rowCol], `${PREFIX}_causal`);
  const masks = new Map<number, string>();
  const windowOf = (n: NodeView) => {
    const w = n.ints.get("local_window_size") ?? -1;
    return w > 0 ? w : -1;
  };
  for (const w of new Set(todo.map(windowOf))) {
    let visible = causal;
    if (w > 0) {
      const from = node(shared, "Sub", [rowCol, ints(`window_${w}`, [w - 1], [])], `${PREFIX}_window_from_${w}`);
      visible = node(shared, "And", [causal, node(shared, "GreaterOrEqual", [colRow, from], `${PREFIX}_in_window_${w}`)], `${PREFIX}_visible_${w}`);
    }
    const mask = node(shared, "Where", [visible, fzero, fneg], `${PREFIX}_mask_${w > 0 ? w : "all"}`);
    masks.set(w, node(shared, "Unsqueeze", [mask, axes01], `${PREFIX}_mask4_${w > 0 ? w : "all"}`)); // [1, 1, S, T]
  }
  // Positions for rotary without a position input: P + i, as [1, S].
  const defaultPositions = node(shared, "Unsqueeze", [rows, axis0], `${PREFIX}_positions`);

  const replaced = new Map<Field, Uint8Array[]>();
  const shapes = new Map<string, string>();
  const shape = (values: number[]) => {
    const key = values.join("_").replace(/-/g, "m");
    if (!shapes.has(key)) shapes.set(key, ints(`shape_${key}`, values));
    return shapes.get(key)!;
  };
  todo.forEach((n, k) => {
    const out: Uint8Array[] = k === 0 ? [...shared] : [];
    const p = `${PREFIX}_${k}`;
    const H = n.ints.get("num_heads")!;
    const Hkv = n.ints.get("kv_num_heads")!;
    const G = H / Hkv;
    const scale = floatAttrs(n).get("scale") || 1 / Math.sqrt(D);
    const packed = !n.inputs[IN.key];
    let q: string, kNew: string, vNew: string;
    if (packed) {
      const all = node(out, "Reshape", [n.inputs[IN.query]!, shape([0, 0, H + 2 * Hkv, D])], `${p}_qkv`);
      out.push(nodeField("Split", [all, ints(`${k}_split`, [H, Hkv, Hkv])], [`${p}_q`, `${p}_k`, `${p}_v`], `${p}_split`, [intAttr("axis", 2)]));
      [q, kNew, vNew] = [`${p}_q`, `${p}_k`, `${p}_v`];
    } else {
      q = node(out, "Reshape", [n.inputs[IN.query]!, shape([0, 0, H, D])], `${p}_q`);
      kNew = node(out, "Reshape", [n.inputs[IN.key]!, shape([0, 0, Hkv, D])], `${p}_k`);
      vNew = node(out, "Reshape", [n.inputs[IN.value]!, shape([0, 0, Hkv, D])], `${p}_v`);
    }
    if (n.ints.get("do_rotary") === 1) {
      // cos/sin caches are [max positions, D / 2] (keepsKernel: full rotary only): each head's
      // halves rotate, x1·cos - x2·sin and x2·cos + x1·sin, as the kernel computes them.
      const positions = n.inputs[IN.positions] || defaultPositions;
      const half = ints(`${k}_half`, [D / 2]);
      const whole = ints(`${k}_d`, [D]);
      const table = (which: "cos" | "sin") => node(out, "Unsqueeze", [node(out, "Gather", [n.inputs[IN[which]]!, positions], `${p}_${which}_rows`, [intAttr("axis", 0)]), axis2], `${p}_${which}`); // [B, S, 1, D/2]
      const cos = table("cos");
      const sin = table("sin");
      const rotate = (x: string, name: string) => {
        const x1 = node(out, "Slice", [x, axis0, half, axis3], `${x}_1`);
        const x2 = node(out, "Slice", [x, half, whole, axis3], `${x}_2`);
        const a = node(out, "Sub", [node(out, "Mul", [x1, cos], `${x}_1c`), node(out, "Mul", [x2, sin], `${x}_2s`)], `${x}_r1`);
        const b = node(out, "Add", [node(out, "Mul", [x2, cos], `${x}_2c`), node(out, "Mul", [x1, sin], `${x}_1s`)], `${x}_r2`);
        return node(out, "Concat", [a, b], name, [intAttr("axis", 3)]);
      };
      q = rotate(q, `${p}_q_rot`);
      kNew = rotate(kNew, `${p}_k_rot`);
    }
    const headMajor = intsAttr("perm", [0, 2, 1, 3]);
    const presentKey = n.outputs[1] || `${p}_present_key`;
    const presentValue = n.outputs[2] || `${p}_present_value`;
    node(out, "Concat", [n.inputs[IN.pastKey]!, node(out, "Transpose", [kNew], `${p}_k_heads`, [headMajor])], presentKey, [intAttr("axis", 2)]);
    node(out, "Concat", [n.inputs[IN.pastValue]!, node(out, "Transpose", [vNew], `${p}_v_heads`, [headMajor])], presentValue, [intAttr("axis", 2)]);
    const qGroups = node(out, "Reshape", [node(out, "Transpose", [q], `${p}_q_heads`, [headMajor]), shape([0, Hkv, -1, D])], `${p}_q_groups`); // [B, Hkv, G*S, D]
    const keyT = node(out, "Transpose", [presentKey], `${p}_key_t`, [intsAttr("perm", [0, 1, 3, 2])]);
    const scores = node(out, "Mul", [node(out, "MatMul", [qGroups, keyT], `${p}_qk`), floats(`${k}_scale`, [scale])], `${p}_scores`);
    let mask = masks.get(windowOf(n))!;
    if (n.inputs[IN.bias]) mask = node(out, "Add", [mask, n.inputs[IN.bias]!], `${p}_mask_bias`);
    const tiled = G === 1 ? mask : node(out, "Tile", [mask, ints(`${k}_tile`, [1, 1, G, 1])], `${p}_mask_groups`); // [1, 1, G*S, T]
    const probs = node(out, "Softmax", [node(out, "Add", [scores, tiled], `${p}_masked`)], `${p}_probs`, [intAttr("axis", -1)]);
    const context = node(out, "MatMul", [probs, presentValue], `${p}_context`); // [B, Hkv, G*S, D]
    const heads = node(out, "Transpose", [node(out, "Reshape", [context, shape([0, H, -1, D])], `${p}_context_heads`)], `${p}_context_seq`, [headMajor]);
    node(out, "Reshape", [heads, shape([0, 0, H * D])], n.outputs[0]!);
    replaced.set(n.field, out);
  });
  const body = withGraphBody(model, graphField, [...graph.flatMap((f) => replaced.get(f) ?? [f.raw]), ...init]);
  return { bytes: body, rewritten: todo.length, ...(kept.length ? { reason: kept[0] } : {}) };
}
