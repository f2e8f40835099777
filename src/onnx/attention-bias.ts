/**
 * The tree-attention bias the rewrites add to a graph: one float32 input [1, 1, S, past + S]
 * (0 = may attend, -inf = may not), cast to the scores' type where each attention node uses it.
 */
import { graphInput } from "./graph-nodes.ts";
import { DTYPE, intAttr, nodeField } from "./schema.ts";

export const ATTENTION_BIAS_INPUT = "edgespec_attention_bias";
/** The per-node casts of it (biasLike) are named this plus the node's index. */
export const BIAS_CAST_PREFIX = "edgespec_tree_bias_cast_";

export function biasInput(): Uint8Array {
  return graphInput(ATTENTION_BIAS_INPUT, DTYPE.float, [1, 1, "sequence_length", "total_sequence_length"]);
}

/**
 * The bias in the scores' type, made right before the node that uses it: CastLike where the
 * opset has it (15+); else a Cast to `type`; else the float32 input itself.
 */
export function biasLike(k: number, like: string, castLike: boolean, type: number | undefined): { nodes: Uint8Array[]; name: string } {
  const name = `${BIAS_CAST_PREFIX}${k}`;
  if (castLike) return { nodes: [nodeField("CastLike", [ATTENTION_BIAS_INPUT, like], [name], `edgespec_tree_cast_${k}`)], name };
  if (type !== undefined && type !== DTYPE.float) return { nodes: [nodeField("Cast", [ATTENTION_BIAS_INPUT], [name], `edgespec_tree_cast_${k}`, [intAttr("to", type)])], name };
  return { nodes: [], name: ATTENTION_BIAS_INPUT };
}


