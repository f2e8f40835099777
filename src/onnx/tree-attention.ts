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
 * last axis whose input is produced by an Add (scores + mask) or a Where (masked_fill) and whose
 * output feeds a MatMul
 * (probs · V), looking through Casts on either side (eager attention in fp16 exports computes the
 * Softmax in float32). Graphs that fuse attention into com.microsoft GroupQueryAttention or
 * MultiHeadAttention get the bias through the op's own attention_bias input instead
 * (tree-attention-fused.ts); other fused ops are reported as not rewritable and the engine
 * verifies chains only.
 */
import { ATTENTION_BIAS_INPUT, biasInput, biasLike } from "./attention-bias.ts";
import { graphNodes, inputNames, MS_DOMAIN, type NodeView, withInputs } from "./graph-nodes.ts";
import { concat, type Field, parseFields, withGraphBody } from "./protobuf.ts";
import { defaultOpset, DTYPE, MODEL, nodeField } from "./schema.ts";
import { fusedTreeAttention } from "./tree-attention-fused.ts";

export interface TreeAttentionResult {
  bytes: Uint8Array;
  rewritten: boolean;
  /** How the graph computes attention, as the rewrite found it. */
  kind?: "decomposed" | "fused";
  /** Attention nodes (Softmax or fused op) that received the bias; -1: the graph already had it. */
  layers: number;
  /** Graph inputs the rewrite added besides the bias (a position input for tree nodes). */
  addedInputs: string[];
  /** Why the graph was left alone, when it was. */
  reason?: string;
}

export interface TreeAttentionOptions {
  /** Name of the per-token position input (int64 [batch, S]); added when a fused layout needs it. */
  positionIds: string;
  /**
   * The graph's activation type (schema.ts DTYPE: float or float16), for graphs at opset < 15
   * (no CastLike) whose attention scores do not come straight out of a Cast that says their type.
   */
  floatType?: number;
}

export function addTreeAttention(bytes: Uint8Array, opts: TreeAttentionOptions): TreeAttentionResult {
  const model = parseFields(bytes);
  const graphField = model.find((f) => f.no === MODEL.graph);
  const left = (reason: string): TreeAttentionResult => ({ bytes, rewritten: false, layers: 0, addedInputs: [], reason });
  if (!graphField) return left("no graph in the ONNX model");
  const graph = parseFields(graphField.body);
  if (inputNames(graph).includes(ATTENTION_BIAS_INPUT)) {
    return { bytes, rewritten: true, layers: -1, addedInputs: [] }; // already rewritten (a cached graph)
  }
  const nodes = graphNodes(graph);
  const castLike = defaultOpset(model) >= 15;
  const rebuild = (fields: Uint8Array[]) => withGraphBody(model, graphField!, fields);
  const fused = nodes.filter((n) => n.domain === MS_DOMAIN && n.op.endsWith("Attention"));
  if (fused.length > 0) {
    const r = fusedTreeAttention(graph, nodes, { ...opts, castLike });
    if ("reason" in r) return left(r.reason);
    return { bytes: rebuild(r.fields), rewritten: true, kind: "fused", layers: fused.length, addedInputs: r.addedInputs };
  }
  const producer = new Map<string, NodeView>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const attention = decomposedAttention(nodes, producer);
  if (attention.length === 0) return left("no attention Softmax (scores + mask, or Where(mask, ...) -> Softmax -> MatMul) found");
  const replaced = new Map<Field, Uint8Array>();
  attention.forEach((sm, k) => {
    const scores = sm.inputs[0]!;
    // Without CastLike: the type a Cast right before the Softmax names, or the graph's activation type.
    const src = producer.get(scores);
    const bias = biasLike(k, scores, castLike, src?.op === "Cast" ? src.ints.get("to") : (opts.floatType ?? DTYPE.float));
    const biased = `edgespec_tree_scores_${k}`;
    const add = nodeField("Add", [scores, bias.name], [biased], `edgespec_tree_add_${k}`);
    // The new nodes sit right before their Softmax, which keeps the node list topologically sorted.
    replaced.set(sm.field, concat([...bias.nodes, add, withInputs(sm, [biased, ...sm.inputs.slice(1)])]));
  });
  return { bytes: rebuild([...graph.map((f) => replaced.get(f) ?? f.raw), biasInput()]), rewritten: true, kind: "decomposed", layers: attention.length, addedInputs: [] };
}

/** Softmax nodes over the last axis fed by an Add or Where (the mask) and feeding a MatMul, through Casts. */
function decomposedAttention(nodes: NodeView[], producer: ReadonlyMap<string, NodeView>): NodeView[] {
  const consumers = new Map<string, NodeView[]>();
  for (const n of nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  // Eager-attention exports upcast around the Softmax (Add -> Cast -> Softmax -> Cast -> MatMul):
  // look through Casts on both sides.
  const throughCasts = (name: string): NodeView | undefined => {
    let n = producer.get(name);
    while (n?.op === "Cast") n = producer.get(n.inputs[0]!);
    return n;
  };
  const feedsMatMul = (name: string): boolean =>
    (consumers.get(name) ?? []).some((c) => c.op === "MatMul" || (c.op === "Cast" && feedsMatMul(c.outputs[0]!)));
  return nodes.filter((n) => {
    if (n.op !== "Softmax" || n.domain !== "") return false;
    const axis = n.ints.get("axis");
    if (axis !== undefined && axis !== -1 && axis !== 3) return false;
    // The mask is added (scores + mask) or filled in (Where(mask, lowest, scores), masked_fill).
    const masked = throughCasts(n.inputs[0]!)?.op;
    return (masked === "Add" || masked === "Where") && feedsMatMul(n.outputs[0]!);
  });
}
