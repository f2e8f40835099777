/**
 * One description of a model graph's layout, found once at load from what the graph declares:
 * KV dtype, how positions enter, whether logits are trimmed by a logits-to-keep input, and which
 * external data files hold its weights. Feeds, the KV cache and the tree rewrite read this, so
 * no exporter's naming is hard-coded elsewhere.
 */
import { EdgespecError } from "../errors.ts";
import type { GraphIo, GraphValue } from "../onnx/graph-io.ts";
import { LOGITS_TO_KEEP } from "../onnx/logits-rows.ts";
import { DTYPE } from "../onnx/schema.ts";
import { checkCausalLmIo, IO } from "./io-names.ts";
import type { ModelSpec } from "./config.ts";
import type { KvIo, KvType } from "./kv-cache.ts";

export interface ModelLayout {
  inputs: readonly GraphValue[];
  outputs: readonly GraphValue[];
  kvType: KvType;
  /**
   * How the session passes the cache: "whole" as exported (head-major, present = past + new), or
   * "append" once the loader has rewritten it (kv-append.ts; sequence-major, present = new only).
   */
  kvIo: KvIo;
  /**
   * "input": the graph takes `position_ids`, so every tree node gets its own position (past +
   * depth). "from-mask": the graph derives positions from `attention_mask` (past + index), which
   * is wrong for tree nodes: such a graph must not get tree attention.
   */
  positions: "input" | "from-mask";
  /** A logits-to-keep input, fed with the number of tokens so every fed token gets its logits. */
  logitsToKeep?: string;
  /** External data files the graph's initializers name, in first-use order. */
  externalFiles: readonly string[];
  /** How attention is computed: MatMul/Softmax written out, or one fused com.microsoft op per layer. */
  attention: "decomposed" | "GroupQueryAttention" | "MultiHeadAttention" | (string & {});
  /**
   * Sliding-window attention (GroupQueryAttention local_window_size, or config.json
   * sliding_window): windows are placed by a token's index in the step, so tree nodes (index >
   * depth) get exact windows only while past + tree size fits in the window.
   */
  slidingWindow?: number;
  /** Why tree verification cannot be offered, when the edges alone say so (fused layouts: their rewrite decides). */
  treeBlocker?: string;
}

function kvTypeOf(io: GraphIo): KvType {
  const past = io.inputs.find((v) => v.name === IO.pastKey(0));
  if (!past) return "float32"; // checkCausalLmIo reports the missing KV inputs
  if (past.elemType === DTYPE.float16) return "float16";
  if (past.elemType === DTYPE.float || past.elemType === 0) return "float32";
  throw new EdgespecError("model_invalid", `KV cache input ${past.name} has element type ${past.elemType}; edgespec supports float32 and float16`);
}

const fixed = (v: GraphValue | undefined, axis: number): number | undefined => {
  const d = v?.dims?.[axis];
  return typeof d === "number" && d > 0 ? d : undefined;
};

/**
 * The graph has a KV-cached causal LM's inputs and outputs (checkCausalLmIo), and config.json
 * agrees with what it declares (layers, KV heads, head dim, vocabulary): a mismatch is one line
 * naming both values, before ORT ever sees a wrongly shaped feed.
 */
export function checkLayoutAgainstConfig(layout: ModelLayout, spec: ModelSpec, file: string): void {
  const layers = checkCausalLmIo(layout.inputs.map((v) => v.name), layout.outputs.map((v) => v.name));
  const past = layout.inputs.find((v) => v.name === IO.pastKey(0));
  const logits = layout.outputs.find((v) => v.name === IO.logits);
  // The KV cache is [batch, kv heads, sequence, head dim] (BNSH); some fused exports declare
  // [batch, sequence, kv heads, head dim] instead, which this runtime does not lay out.
  if (past?.dims?.length === 4 && fixed(past, 1) === undefined && fixed(past, 2) === spec.numKvHeads && fixed(past, 3) === spec.headDim) {
    throw new EdgespecError("model_invalid", `${file} keeps its KV cache as [batch, sequence, heads, head dim]; edgespec supports [batch, heads, sequence, head dim] (re-export without BSNH past/present)`);
  }
  const checks: [string, number, number | undefined][] = [
    ["layers (num_hidden_layers)", spec.numLayers, layers],
    ["KV heads (num_key_value_heads)", spec.numKvHeads, fixed(past, 1)],
    ["head dim (head_dim)", spec.headDim, fixed(past, 3)],
    ["vocabulary (vocab_size)", spec.vocabSize, fixed(logits, 2)],
  ];
  for (const [what, cfg, graph] of checks) {
    if (graph !== undefined && graph !== cfg) {
      throw new EdgespecError("model_invalid", `config.json and ${file} disagree on ${what}: config.json says ${cfg}, the graph has ${graph}`);
    }
  }
}

/**
 * Why a layout cannot get tree verification, when that is clear from its edges alone. Fused
 * layouts are judged by their rewrite (onnx/tree-attention-fused.ts), which knows the ops.
 */
function treeBlocker(attention: string, positions: ModelLayout["positions"]): string | undefined {
  if (attention === "decomposed" && positions === "from-mask") {
    return "the graph has no position_ids input (it derives positions from attention_mask), so tree nodes cannot get their own positions";
  }
  return undefined;
}

/** `configWindow`: config.json's sliding window, when the architecture uses one. */
export function describeLayout(io: GraphIo, configWindow?: number): ModelLayout {
  const names = new Set(io.inputs.map((v) => v.name));
  const positions = names.has(IO.positionIds) ? "input" : "from-mask";
  const logitsToKeep = LOGITS_TO_KEEP.find((n) => names.has(n));
  const fusedOps = [...new Set(io.fusedAttention.map((a) => a.op))];
  const attention = fusedOps.length === 0 ? "decomposed" : fusedOps.join("+");
  const windows = [...io.fusedAttention.map((a) => a.localWindow), configWindow].filter((w): w is number => w !== undefined && w > 0);
  return {
    inputs: io.inputs,
    outputs: io.outputs,
    kvType: kvTypeOf(io),
    kvIo: "whole",
    positions,
    logitsToKeep,
    externalFiles: io.externalFiles,
    attention,
    ...(windows.length > 0 ? { slidingWindow: Math.min(...windows) } : {}),
    treeBlocker: treeBlocker(attention, positions),
  };
}
