/**
 * Tree attention for standard ONNX causal-LM exports.
 *
 * Standard exports (Optimum, transformers.js, edgespec's own) take a 2D attention_mask and build a
 * causal mask inside the graph, so a flattened draft tree fed as one sequence would let each node
 * see its cousins. This rewrite adds one graph input, `edgespec_attention_bias` [1, 1, S, past+S],
 * and adds it to the attention scores just before every attention Softmax. The causal mask stays
 * in place: for a tree in topological order, causal ⊇ ancestors, so causal + tree bias is exactly
 * "attend to the past and to your ancestors". With a bias of zeros the graph computes what the
 * original computes (x + 0 = x), so plain decoding runs on the same session unchanged.
 *
 * An attention Softmax is recognised by shape of the computation, not by names: a Softmax over the
 * last axis whose input is produced by an Add (scores + mask) and whose output feeds a MatMul
 * (probs · V), looking through Casts on either side (eager attention in fp16 exports computes the
 * Softmax in float32). Graphs that fuse attention into one op (GroupQueryAttention, MultiHeadAttention)
 * have no such Softmax; they are reported as not rewritable and the engine verifies chains only.
 */
import { ATTENTION_BIAS_INPUT } from "../model/causal-lm.ts";
import { bytesField, concat, type Field, parseFields, stringField, text, varintField } from "./protobuf.ts";
import { ATTR, DIM, defaultOpset, DTYPE, GRAPH, intAttr, MODEL, NODE, nodeField, SHAPE, TENSOR_TYPE, TYPE, VALUE_INFO } from "./schema.ts";

export interface TreeAttentionResult {
  bytes: Uint8Array;
  rewritten: boolean;
  /** Attention Softmax nodes that received the bias. */
  softmaxCount: number;
  /** Why the graph was left alone, when it was. */
  reason?: string;
}

interface NodeView {
  field: Field;
  op: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes by name (Softmax `axis`, Cast `to`). */
  ints: Map<string, number>;
}

function viewNode(field: Field): NodeView {
  const v: NodeView = { field, op: "", domain: "", inputs: [], outputs: [], ints: new Map() };
  for (const f of parseFields(field.body)) {
    if (f.no === NODE.opType) v.op = text(f.body);
    else if (f.no === NODE.domain) v.domain = text(f.body);
    else if (f.no === NODE.input) v.inputs.push(text(f.body));
    else if (f.no === NODE.output) v.outputs.push(text(f.body));
    else if (f.no === NODE.attribute) {
      const a = parseFields(f.body);
      const name = a.find((x) => x.no === ATTR.name);
      const i = a.find((x) => x.no === ATTR.i);
      if (name && i) v.ints.set(text(name.body), i.value); // int64: the reader returns negative values signed
    }
  }
  return v;
}

/** The NodeProto with input `index` renamed. */
function renameInput(node: Field, index: number, name: string): Uint8Array {
  let k = -1;
  const parts = parseFields(node.body).map((f) => (f.no === NODE.input && ++k === index ? stringField(NODE.input, name) : f.raw));
  return bytesField(GRAPH.node, concat(parts));
}

function biasInput(): Uint8Array {
  const dim = (f: Uint8Array) => bytesField(SHAPE.dim, f);
  const shape = concat([dim(varintField(DIM.value, 1)), dim(varintField(DIM.value, 1)), dim(stringField(DIM.param, "sequence_length")), dim(stringField(DIM.param, "total_sequence_length"))]);
  const tensor = concat([varintField(TENSOR_TYPE.elemType, DTYPE.float), bytesField(TENSOR_TYPE.shape, shape)]);
  return bytesField(GRAPH.input, concat([stringField(VALUE_INFO.name, ATTENTION_BIAS_INPUT), bytesField(VALUE_INFO.type, bytesField(TYPE.tensor, tensor))]));
}

export interface TreeAttentionOptions {
  /**
   * The graph's activation type (schema.ts DTYPE: float or float16), for graphs at opset < 15
   * (no CastLike) whose attention scores do not come straight out of a Cast that says their type.
   */
  floatType?: number;
}

export function addTreeAttention(bytes: Uint8Array, opts: TreeAttentionOptions = {}): TreeAttentionResult {
  const model = parseFields(bytes);
  const graphField = model.find((f) => f.no === MODEL.graph);
  if (!graphField) return { bytes, rewritten: false, softmaxCount: 0, reason: "no graph in the ONNX model" };
  const graph = parseFields(graphField.body);
  if (graph.some((f) => f.no === GRAPH.input && parseFields(f.body).some((x) => x.no === VALUE_INFO.name && text(x.body) === ATTENTION_BIAS_INPUT))) {
    return { bytes, rewritten: true, softmaxCount: -1 }; // already rewritten (a cached graph)
  }
  const nodes = graph.filter((f) => f.no === GRAPH.node).map(viewNode);
  const producer = new Map<string, NodeView>();
  const consumers = new Map<string, NodeView[]>();
  for (const n of nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  // Eager-attention exports upcast around the Softmax (Add -> Cast -> Softmax -> Cast -> MatMul):
  // look through Casts on both sides.
  const throughCasts = (name: string): NodeView | undefined => {
    let n = producer.get(name);
    while (n?.op === "Cast") n = producer.get(n.inputs[0]!);
    return n;
  };
  const feedsMatMul = (name: string): boolean =>
    (consumers.get(name) ?? []).some((c) => c.op === "MatMul" || (c.op === "Cast" && feedsMatMul(c.outputs[0]!)));
  const attention = nodes.filter((n) => {
    if (n.op !== "Softmax" || n.domain !== "") return false;
    const axis = n.ints.get("axis");
    if (axis !== undefined && axis !== -1 && axis !== 3) return false;
    return throughCasts(n.inputs[0]!)?.op === "Add" && feedsMatMul(n.outputs[0]!);
  });
  if (attention.length === 0) {
    const fused = nodes.find((n) => /Attention$/.test(n.op));
    return { bytes, rewritten: false, softmaxCount: 0, reason: fused ? `attention is fused into ${fused.op}` : "no attention Softmax (scores + mask -> Softmax -> MatMul) found" };
  }
  // The bias must be in the scores' type: CastLike where the opset has it (15+); else the type a
  // Cast right before the Softmax names, or the graph's activation type.
  const castLike = defaultOpset(model) >= 15;
  const replaced = new Map<Field, Uint8Array>();
  const added: Uint8Array[] = [];
  attention.forEach((sm, k) => {
    const scores = sm.inputs[0]!;
    let bias = ATTENTION_BIAS_INPUT;
    const src = producer.get(scores);
    const scoresType = src?.op === "Cast" ? src.ints.get("to") : (opts.floatType ?? DTYPE.float);
    if (castLike) {
      bias = `edgespec_tree_bias_cast_${k}`;
      added.push(nodeField("CastLike", [ATTENTION_BIAS_INPUT, scores], [bias], `edgespec_tree_cast_${k}`));
    } else if (scoresType !== undefined && scoresType !== DTYPE.float) {
      bias = `edgespec_tree_bias_cast_${k}`;
      added.push(nodeField("Cast", [ATTENTION_BIAS_INPUT], [bias], `edgespec_tree_cast_${k}`, [intAttr("to", scoresType)]));
    }
    const biased = `edgespec_tree_scores_${k}`;
    added.push(nodeField("Add", [scores, bias], [biased], `edgespec_tree_add_${k}`));
    replaced.set(sm.field, concat([...added.splice(0), renameInput(sm.field, 0, biased)]));
  });
  // Each new Add sits right before its Softmax, which keeps the node list topologically sorted.
  const newGraph = concat([...graph.map((f) => replaced.get(f) ?? f.raw), biasInput()]);
  const out = concat(model.map((f) => (f === graphField ? bytesField(MODEL.graph, newGraph) : f.raw)));
  return { bytes: out, rewritten: true, softmaxCount: attention.length };
}
