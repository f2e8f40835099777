/**
 * The lm_head over the rows that are asked for, not over every fed token.
 *
 * An export computes logits for every token it is fed, [1, S, vocab], and the vocabulary
 * projection is the model's widest MatMul (a third of edgespec-small's weights). A prefill of
 * plain decoding needs one row of it, the last; the other S - 1 rows were computed and dropped.
 * This rewrite puts a Gather of the rows named by a new input in front of that MatMul:
 *
 *     edgespec_logits_rows  [R] int64     which fed tokens get logits (0-based, in this order)
 *     logits                [1, R, vocab] (was [1, S, vocab])
 *
 * Feeding 0..S-1 computes what the export computed. Each row of a MatMul is its own dot products,
 * so a row's logits do not depend on which other rows are projected with it (the tests check it
 * bit for bit).
 *
 * Only where the logits come straight out of a MatMul (or 4-bit MatMulNBits) over the hidden
 * states: other graphs, and exports that already trim their logits (`num_logits_to_keep`, fed by
 * causal-lm.ts), are left as they are.
 */
import { readValueInfo } from "./graph-io.ts";
import { graphInput, graphNodes, MS_DOMAIN, valueInfo, withInputs } from "./graph-nodes.ts";
import { bytesField, concat, parseFields, withGraphBody } from "./protobuf.ts";
import { DTYPE, GRAPH, intAttr, MODEL, nodeField } from "./schema.ts";

export const LOGITS_ROWS = "edgespec_logits_rows";
/** Scalar inputs newer exports (Optimum, transformers.js) use to compute logits for the last k tokens only. */
export const LOGITS_TO_KEEP: readonly string[] = ["num_logits_to_keep", "logits_to_keep"];

export function addLogitsRows(bytes: Uint8Array, opts: { logitsName?: string } = {}): { bytes: Uint8Array; added: boolean } {
  const logitsName = opts.logitsName ?? "logits";
  const model = parseFields(bytes);
  const graphField = model.find((f) => f.no === MODEL.graph);
  if (!graphField) return { bytes, added: false };
  const graph = parseFields(graphField.body);
  const inputs = graph.filter((f) => f.no === GRAPH.input).map(readValueInfo);
  if (inputs.some((i) => i.name === LOGITS_ROWS || LOGITS_TO_KEEP.includes(i.name))) return { bytes, added: false };
  const outputs = graph.filter((f) => f.no === GRAPH.output).map((f) => ({ field: f, info: readValueInfo(f) }));
  const logits = outputs.find((o) => o.info.name === logitsName);
  const head = graphNodes(graph).find((n) => n.outputs.includes(logitsName));
  const projects = head && ((head.op === "MatMul" && head.domain === "") || (head.op === "MatMulNBits" && head.domain === MS_DOMAIN));
  if (!logits || !head || !projects || logits.info.dims?.length !== 3) return { bytes, added: false };
  const hidden = `${LOGITS_ROWS}_hidden`;
  const [batch, , vocab] = logits.info.dims;
  const parts = graph.map((f) => {
    // The Gather goes right before the projection: nodes stay in topological order.
    if (f === head.field) return concat([nodeField("Gather", [head.inputs[0]!, LOGITS_ROWS], [hidden], `${LOGITS_ROWS}_gather`, [intAttr("axis", 1)]), withInputs(head, [hidden, ...head.inputs.slice(1)])]);
    if (f === logits.field) return bytesField(GRAPH.output, valueInfo(logitsName, logits.info.elemType || DTYPE.float, [batch ?? "batch_size", "logits_rows", vocab ?? "vocab_size"]));
    return f.raw;
  });
  parts.push(graphInput(LOGITS_ROWS, DTYPE.int64, ["logits_rows"]));
  return { bytes: withGraphBody(model, graphField, parts), added: true };
}
