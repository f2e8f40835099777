/**
 * Smaller views of the logits, computed in the graph, so a prefill need not copy every row out.
 *
 * A prefill returns logits for every prompt token, [1, S, vocab]: 65 MB for 1000 tokens of a
 * 16384-token vocabulary, copied out of onnxruntime, then scanned in JS for the drafters' top-k.
 * Plain decoding needs only the last row, and Token Recycling only each row's top-k. The rewrite
 * adds three outputs the session computes from the same logits:
 *   edgespec_last_logits [1, 1, vocab]        the last row (what the next token is chosen from)
 *   edgespec_topk_ids    [1, S, TOP_K] int64  each row's TOP_K largest logits' ids, largest first
 *   edgespec_argmax_ids  [1, S] int64         each row's largest logit's id (greedy
 *                                             steps read back 8 bytes a row, and the top-k if a
 *                                             drafter wants candidates)
 * A run that fetches only these (and the cache) never copies the full logits. Full rows are still
 * there for whoever asks (prompt logprobs, verification).
 */
import { readValueInfo } from "./graph-io.ts";
import { bytesField, parseFields, withGraphBody } from "./protobuf.ts";
import { DTYPE, GRAPH, initializerField, intAttr, MODEL, nodeField, int64Raw } from "./schema.ts";
import { valueInfo } from "./graph-nodes.ts";

export const LAST_LOGITS = "edgespec_last_logits";
export const TOPK_IDS = "edgespec_topk_ids";
export const ARGMAX_IDS = "edgespec_argmax_ids";
/** Candidates per row the graph computes; drafters asking for fewer take a prefix. */
export const TOP_K = 8;

/** The three heads (greedy steps read the argmax: causal-lm.ts `forwardTop`). */
export function addLogitsHeads(bytes: Uint8Array, opts: { logitsName?: string } = {}): { bytes: Uint8Array; added: boolean } {
  const logitsName = opts.logitsName ?? "logits";
  const model = parseFields(bytes);
  const graphField = model.find((f) => f.no === MODEL.graph);
  if (!graphField) return { bytes, added: false };
  const graph = parseFields(graphField.body);
  const outputs = graph.filter((f) => f.no === GRAPH.output).map(readValueInfo);
  const logits = outputs.find((o) => o.name === logitsName);
  if (!logits || outputs.some((o) => o.name === LAST_LOGITS)) return { bytes, added: outputs.some((o) => o.name === LAST_LOGITS) };
  const [batch, seq, vocab] = logits.dims?.length === 3 ? logits.dims : ["batch_size", "sequence_length", "vocab_size"];
  const p = "edgespec_heads";
  const fields = [
    initializerField(`${p}_minus1`, DTYPE.int64, int64Raw([-1]), [1]),
    initializerField(`${p}_end`, DTYPE.int64, int64Raw([2 ** 62]), [1]),
    initializerField(`${p}_axis1`, DTYPE.int64, int64Raw([1]), [1]),
    initializerField(`${p}_k`, DTYPE.int64, int64Raw([TOP_K]), [1]),
    nodeField("Slice", [logitsName, `${p}_minus1`, `${p}_end`, `${p}_axis1`], [LAST_LOGITS], `${p}_last`),
  ];
  // onnxruntime's CPU TopK has no float16 kernel: rank float16 logits in float32 (exact).
  let ranked = logitsName;
  if (logits.elemType === DTYPE.float16) {
    fields.push(nodeField("Cast", [logitsName], [`${p}_logits32`], `${p}_cast`, [intAttr("to", DTYPE.float)]));
    ranked = `${p}_logits32`;
  }
  fields.push(
    // TopK orders equal values by index, as the JS argmax does (lowest id wins a tie).
    nodeField("TopK", [ranked, `${p}_k`], [`${p}_topk_values`, TOPK_IDS], `${p}_topk`, [intAttr("axis", -1), intAttr("largest", 1), intAttr("sorted", 1)]),
    bytesField(GRAPH.output, valueInfo(LAST_LOGITS, logits.elemType || DTYPE.float, [batch ?? "batch_size", 1, vocab ?? "vocab_size"])),
    bytesField(GRAPH.output, valueInfo(TOPK_IDS, DTYPE.int64, [batch ?? "batch_size", seq ?? "sequence_length", TOP_K])),
  );
  fields.push(
    // ArgMax takes the first maximum (select_last_index 0): the lowest id wins a tie, as above.
    nodeField("ArgMax", [ranked], [ARGMAX_IDS], `${p}_argmax`, [intAttr("axis", -1), intAttr("keepdims", 0)]),
    bytesField(GRAPH.output, valueInfo(ARGMAX_IDS, DTYPE.int64, [batch ?? "batch_size", seq ?? "sequence_length"])),
  );
  const out = withGraphBody(model, graphField, [...graph.map((g) => g.raw), ...fields]);
  return { bytes: out, added: true };
}
