/**
 * Tree attention for graphs whose attention is fused into one com.microsoft op per layer:
 * GroupQueryAttention (the onnxruntime-genai model builder; fused transformers.js /
 * onnx-community exports) and MultiHeadAttention (older builder versions, ORT's transformer
 * optimizer).
 *
 * A flattened tree fed to GQA goes wrong in two ways: the op's causal mask lets a node see its
 * cousins, and with do_rotary=1 the op rotates token i to position past + i (from seqlens_k),
 * where a tree node belongs at past + depth. Both have inputs in the op's schema (onnxruntime
 * 1.21+): `position_ids` (input 9, used for rotary when do_rotary=1) and `attention_bias`
 * (input 10, added to the scores after the causal mask). The rewrite feeds every GQA node the
 * graph's position input (adding one when the graph derives positions from the mask) and the tree
 * bias in the op's float type. Causal ⊇ ancestors for a tree in topological order, so causal +
 * bias is "the past and your ancestors"; a zero bias and positions past + i compute exactly what
 * the original graph computes, so plain decoding runs on the same session.
 *
 * MultiHeadAttention has no rotary of its own and takes the bias at input 5 (`attention_bias`,
 * added to the scores after its causal mask when unidirectional=1).
 *
 * Where the rotation happens before the op (GQA do_rotary=0, MHA), com.microsoft.RotaryEmbedding
 * nodes are given the position input; rotary written out in plain ops is only trusted when the
 * graph already takes positions as an input.
 */
import { biasInput, biasLike } from "./attention-bias.ts";
import { graphInput, inputNames, MS_DOMAIN, type NodeView, withInputs } from "./graph-nodes.ts";
import { concat, type Field } from "./protobuf.ts";
import { DTYPE, nodeField } from "./schema.ts";

/** Where each fused op takes the tree: its bias input, and its position input when it rotates. */
export const FUSED_ATTENTION: Record<string, { bias: number; positions?: number }> = {
  GroupQueryAttention: { bias: 10, positions: 9 },
  MultiHeadAttention: { bias: 5 },
};

/** Whether the op rotates Q/K itself (so positions must reach the op, not a RotaryEmbedding). */
const rotatesItself = (n: NodeView) => FUSED_ATTENTION[n.op]?.positions !== undefined && n.ints.get("do_rotary") === 1;

export interface FusedRewriteOptions {
  positionIds: string;
  castLike: boolean;
  floatType?: number;
}

export function fusedTreeAttention(graph: readonly Field[], nodes: readonly NodeView[], opts: FusedRewriteOptions): { fields: Uint8Array[]; addedInputs: string[] } | { reason: string } {
  const fused = nodes.filter((n) => n.domain === MS_DOMAIN && n.op.endsWith("Attention"));
  const unknown = fused.find((n) => FUSED_ATTENTION[n.op] === undefined);
  if (unknown) return { reason: `attention is fused into ${unknown.op}, which has no tree rewrite yet` };
  const rotary = nodes.filter((n) => n.op === "RotaryEmbedding" && n.domain === MS_DOMAIN);
  const hasPositions = inputNames(graph).includes(opts.positionIds);
  const outside = fused.find((n) => !rotatesItself(n));
  if (!hasPositions && rotary.length === 0 && outside) {
    return { reason: `${outside.op} gets rotated Q/K from plain ops that derive positions from attention_mask, so tree nodes cannot get their own positions` };
  }
  const replaced = new Map<Field, Uint8Array>();
  fused.forEach((n, k) => {
    const at = FUSED_ATTENTION[n.op]!;
    const inputs = [...n.inputs];
    while (inputs.length <= at.bias) inputs.push("");
    if (rotatesItself(n)) inputs[at.positions!] = opts.positionIds;
    const bias = biasLike(k, inputs[0]!, opts.castLike, opts.floatType);
    const added = [...bias.nodes];
    const existing = inputs[at.bias];
    if (existing) {
      // The graph's own bias (e.g. padding) stays: both are additive.
      const sum = `edgespec_tree_bias_sum_${k}`;
      added.push(nodeField("Add", [existing, bias.name], [sum], `edgespec_tree_bias_add_${k}`));
      inputs[at.bias] = sum;
    } else {
      inputs[at.bias] = bias.name;
    }
    replaced.set(n.field, concat([...added, withInputs(n, inputs)]));
  });
  if (!hasPositions) {
    for (const r of rotary) replaced.set(r.field, withInputs(r, [r.inputs[0]!, opts.positionIds, ...r.inputs.slice(2)]));
  }
  const fields = graph.map((f) => replaced.get(f) ?? f.raw);
  const addedInputs: string[] = [];
  if (!hasPositions) {
    fields.push(graphInput(opts.positionIds, DTYPE.int64, ["batch_size", "sequence_length"]));
    addedInputs.push(opts.positionIds);
  }
  fields.push(biasInput());
  return { fields, addedInputs };
}
