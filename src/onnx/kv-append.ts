/**
 * Append-only KV cache I/O: the graph takes `past_key_values.*` sequence-major, [batch, past,
 * kvHeads, headDim], and returns as `present.*` only the positions this step added, in the same
 * layout.
 *
 * Exports take the past head-major, [batch, kvHeads, past, headDim], and return the whole cache
 * (past + new) every step, so each step copies the whole cache out of onnxruntime into a fresh
 * JS buffer: measured at 1000 positions on the reference model, native CPU, one thread, that copy
 * was ~5 ms of a ~12 ms step. Sequence-major, the past is a prefix of one growing buffer (a
 * subarray, no copy on the JS side), appending a step is a copy of the new positions only, and
 * rollback moves whole positions.
 *
 * The step's new positions of every layer also leave the session as ONE output,
 * `edgespec_present` [2 * layers, added, kvHeads, headDim] (present.0.key, present.0.value,
 * present.1.key, ... in that order): onnxruntime-web hands each fetched output to JS with its own
 * allocation, copy and tensor object. Fetching one packed output instead of 12 (interleaved, 20
 * prompts x 2): edgespec-tiny's plain forward in the decode loop 1.97 -> 1.84 ms (decode 504 ->
 * 541 tok/s), edgespec-small's 6.25 -> 5.73 ms (159 -> 174 tok/s). The per-layer outputs stay
 * (for callers that read them); the cache fetches the packed one.
 *
 * The rewrite is the same for every layout, decomposed or fused, because it does not touch the
 * attention: a Transpose turns each past input back into the head-major tensor the graph's own
 * nodes consume, and the graph's full present (still computed, now internal) is sliced from
 * `past` on and transposed to the new output. The in-graph Transpose of the past is a copy too,
 * but a native one inside the session, with no allocation handed to JS.
 */
import { readValueInfo } from "./graph-io.ts";
import { graphNodes, renamed, valueInfo } from "./graph-nodes.ts";
import { bytesField, type Field, parseFields, withGraphBody } from "./protobuf.ts";
import { DTYPE, GRAPH, initializerField, intAttr, intsAttr, MODEL, nodeField, int64Raw } from "./schema.ts";

export interface KvAppendResult {
  bytes: Uint8Array;
  rewritten: boolean;
  /** Why the graph was left alone, when it was. */
  reason?: string;
}

const PAST = /^past_key_values\.(\d+)\.(key|value)$/;
const PREFIX = "edgespec_kv";
/** Every layer's new key and value positions in one output (see above). */
export const PACKED_PRESENT = "edgespec_present";

export function appendOnlyKv(bytes: Uint8Array): KvAppendResult {
  const model = parseFields(bytes);
  const graphField = model.find((f) => f.no === MODEL.graph);
  const left = (reason: string): KvAppendResult => ({ bytes, rewritten: false, reason });
  if (!graphField) return left("no graph in the ONNX model");
  const graph = parseFields(graphField.body);
  const inputs = graph.filter((f) => f.no === GRAPH.input).map((f) => ({ field: f, info: readValueInfo(f) }));
  const outputs = graph.filter((f) => f.no === GRAPH.output).map((f) => ({ field: f, info: readValueInfo(f) }));
  const past = inputs.filter((i) => PAST.test(i.info.name));
  if (past.length === 0) return left("no past_key_values inputs");
  const presentOf = (name: string) => name.replace(PAST, "present.$1.$2");
  for (const p of past) {
    if (p.info.dims?.length !== 4) return left(`${p.info.name} is not a 4-D [batch, heads, past, dim] input`);
    if (!outputs.some((o) => o.info.name === presentOf(p.info.name))) return left(`no ${presentOf(p.info.name)} output for ${p.info.name}`);
  }
  // Graph-internal names for what the inputs and outputs were.
  const inner = new Map<string, string>();
  for (const p of past) {
    inner.set(p.info.name, `${PREFIX}_bhsd.${p.info.name}`);
    inner.set(presentOf(p.info.name), `${PREFIX}_full.${presentOf(p.info.name)}`);
  }
  const rename = (n: string) => inner.get(n) ?? n;
  const nodes = graphNodes(graph);
  if (nodes.some((n) => n.outputs.some((o) => o.startsWith(PREFIX)))) return { bytes, rewritten: true }; // already rewritten
  const rewrittenNodes = new Map<Field, Uint8Array>();
  for (const n of nodes) {
    if (n.inputs.some((i) => inner.has(i)) || n.outputs.some((o) => inner.has(o))) {
      rewrittenNodes.set(n.field, renamed(n, n.inputs.map(rename), n.outputs.map(rename)));
    }
  }
  const perm = intsAttr("perm", [0, 2, 1, 3]);
  const head: Uint8Array[] = [];
  const tail: Uint8Array[] = [
    initializerField(`${PREFIX}_axis2`, DTYPE.int64, int64Raw([2]), [1]),
    initializerField(`${PREFIX}_axis3`, DTYPE.int64, int64Raw([3]), [1]),
    initializerField(`${PREFIX}_end`, DTYPE.int64, int64Raw([2 ** 62]), [1]),
  ];
  // past length = shape(first past, head-major)[2:3]; every layer's past has the same length.
  const first = inner.get(past[0]!.info.name)!;
  tail.push(nodeField("Shape", [first], [`${PREFIX}_shape`], `${PREFIX}_shape`));
  tail.push(nodeField("Slice", [`${PREFIX}_shape`, `${PREFIX}_axis2`, `${PREFIX}_axis3`], [`${PREFIX}_past_len`], `${PREFIX}_past_len`));
  const newInputs: Uint8Array[] = [];
  const newOutputs: Uint8Array[] = [];
  past.forEach((p, k) => {
    const [batch, heads, len, dim] = p.info.dims!.map((d, i) => d ?? ["batch_size", "num_heads", "past_sequence_length", "head_dim"][i]!);
    newInputs.push(bytesField(GRAPH.input, valueInfo(p.info.name, p.info.elemType, [batch!, len!, heads!, dim!])));
    head.push(nodeField("Transpose", [p.info.name], [inner.get(p.info.name)!], `${PREFIX}_in_${k}`, [perm]));
    const present = presentOf(p.info.name);
    const added = `${PREFIX}_added.${present}`;
    tail.push(nodeField("Slice", [inner.get(present)!, `${PREFIX}_past_len`, `${PREFIX}_end`, `${PREFIX}_axis2`], [added], `${PREFIX}_slice_${k}`));
    tail.push(nodeField("Transpose", [added], [present], `${PREFIX}_out_${k}`, [perm]));
    newOutputs.push(bytesField(GRAPH.output, valueInfo(present, p.info.elemType, [batch!, "sequence_length", heads!, dim!])));
  });
  // In layer order, key before value, whatever order the graph lists its inputs in.
  const order = past.map((p) => p.info.name).sort((a, b) => {
    const [, la, ka] = PAST.exec(a)!;
    const [, lb, kb] = PAST.exec(b)!;
    return Number(la) - Number(lb) || (ka === kb ? 0 : ka === "key" ? -1 : 1);
  });
  // Only where every layer's cache has the same fixed heads and head dim (a Concat needs them equal).
  const [, heads0, , dim0] = past[0]!.info.dims!;
  if (typeof heads0 === "number" && typeof dim0 === "number" && past.every((p) => p.info.dims![1] === heads0 && p.info.dims![3] === dim0)) {
    tail.push(nodeField("Concat", order.map(presentOf), [PACKED_PRESENT], `${PREFIX}_packed`, [intAttr("axis", 0)]));
    newOutputs.push(bytesField(GRAPH.output, valueInfo(PACKED_PRESENT, past[0]!.info.elemType, ["packed_layers", "sequence_length", heads0, dim0])));
  }
  const pastFields = new Set(past.map((p) => p.field));
  const presentNames = new Set(past.map((p) => presentOf(p.info.name)));
  const fields: Uint8Array[] = [];
  let nodesStarted = false;
  for (const f of graph) {
    if (f.no === GRAPH.node && !nodesStarted) {
      // The transposes of the inputs come first: their inputs exist before any node runs.
      fields.push(...head);
      nodesStarted = true;
    }
    if (pastFields.has(f)) continue;
    if (f.no === GRAPH.output && presentNames.has(readValueInfo(f).name)) continue;
    // Shape annotations of the renamed values would now describe the wrong tensors.
    if (f.no === GRAPH.valueInfo && inner.has(readValueInfo(f).name)) continue;
    fields.push(rewrittenNodes.get(f) ?? f.raw);
  }
  // Appended after every node, so the node list stays topologically sorted.
  fields.push(...tail, ...newInputs, ...newOutputs);
  const out = withGraphBody(model, graphField, fields);
  return { bytes: out, rewritten: true };
}
