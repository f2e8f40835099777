/**
 * Attention that reads the KV cache where it lies: sequence-major, with no head-major copy.
 *
 * After the append rewrite (kv-append.ts) a decomposed export still builds, per layer and per K/V,
 * a head-major copy of the whole cache every step: Transpose(past) -> Concat(past, new) ->
 * (for K) Transpose to K^T, then the attention MatMul. onnxruntime pushes those transposes around
 * but keeps two full-cache copies per tensor, and on WebAssembly some of them ran far slower than
 * their size (onnxruntime's profiler, edgespec-tiny, 1 thread: the last layer's V transpose took
 * 0.62 ms more at 500 positions than at 32; the same-shaped copies of the other layers ~0.02 ms
 * more). The products need no copy: com.microsoft's FusedMatMul
 * reads B = [T, heads, dim] as [heads, T, dim] (transBatchB) and transposed (transB), by strides:
 *
 *   full   = Concat(past [1, P, h, d], new [1, S, h, d], axis 1)        (the one copy left)
 *   scores = Unsqueeze(FusedMatMul(Squeeze(Q), Squeeze(full), transB, transBatchB))
 *   ctx    = Unsqueeze(FusedMatMul(Squeeze(probs), Squeeze(full), transBatchB))
 *
 * and the present output (the positions the step added) is the new K/V transposed, no longer a
 * slice of the full cache. Each logit is the same dot product, in the same order: logits are the
 * append graph's bit for bit (test/onnx/seq-major-attention.test.ts), and edgespec-tiny's
 * 1-token step at 500 positions went from 2.84 to 2.11 ms.
 *
 * Batch 1 only (the Squeezes): edgespec decodes one sequence per session run. Float32 caches only
 * (FusedMatMul's CPU kernel). A K/V whose cache is not concatenated by a plain Concat (fused
 * attention ops) is left as the append rewrite made it; any other reader of the full head-major
 * cache gets it from one Transpose.
 */
import { readValueInfo } from "./graph-io.ts";
import { graphNodes, MS_DOMAIN, type NodeView, permOf, viewNode } from "./graph-nodes.ts";
import { bytesField, concat, type Field, parseFields, stringField, text, varintField, withGraphBody } from "./protobuf.ts";
import { defaultOpset, DTYPE, GRAPH, initializerField, intAttr, intsAttr, MODEL, NODE, nodeField, int64Raw, TENSOR } from "./schema.ts";

export interface SeqMajorResult {
  bytes: Uint8Array;
  /** Attention MatMuls that now read the sequence-major cache (2 per layer when it applies). */
  rewritten: number;
}

const PAST = /^past_key_values\.(\d+)\.(key|value)$/;
const PREFIX = "edgespec_seq";
const HEAD_MAJOR = [0, 2, 1, 3];

export function seqMajorAttention(bytes: Uint8Array): SeqMajorResult {
  const model = parseFields(bytes);
  const graphField = model.find((f) => f.no === MODEL.graph);
  if (!graphField) return { bytes, rewritten: 0 };
  const graph = parseFields(graphField.body);
  const opset = defaultOpset(model);
  const nodes = graphNodes(graph);
  if (nodes.some((n) => n.outputs.some((o) => o.startsWith(PREFIX)))) return { bytes, rewritten: 0 }; // already rewritten
  // Subgraphs read outer values without naming them as inputs: the pruning below cannot see those reads.
  if (nodes.some((n) => n.op === "If" || n.op === "Loop" || n.op === "Scan")) return { bytes, rewritten: 0 };
  const consumers = new Map<string, NodeView[]>();
  for (const n of nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const readers = (name: string) => consumers.get(name) ?? [];
  const outputs = new Set(graph.filter((f) => f.no === GRAPH.output).map((f) => readValueInfo(f).name));
  const permIs = (n: NodeView, perm: number[]) => n.op === "Transpose" && permOf(n).join() === perm.join();

  const initializers = [initializerField(`${PREFIX}_axis0`, DTYPE.int64, int64Raw([0]), [1])];
  // New nodes take the place of the node they replace, which keeps the node list topologically
  // sorted: the full cache's Concat comes after what it reads, and its readers after it.
  const replaced = new Map<Field, Uint8Array[]>();
  // Squeeze/Unsqueeze take their axes as an input from opset 13, as an attribute before.
  const axis0 = (op: "Squeeze" | "Unsqueeze", input: string, output: string) =>
    opset >= 13 ? nodeField(op, [input, `${PREFIX}_axis0`], [output], output) : nodeField(op, [input], [output], output, [intsAttr("axes", [0])]);
  const dropped = new Set<Field>();
  let rewritten = 0;
  let k = 0;
  for (const input of graph.filter((f) => f.no === GRAPH.input)) {
    const past = readValueInfo(input);
    if (!PAST.test(past.name) || past.elemType !== DTYPE.float) continue;
    // past -> Transpose (head-major) -> Concat(axis 2) with the new positions -> the full cache.
    const toHeads = readers(past.name).find((n) => permIs(n, HEAD_MAJOR));
    if (!toHeads) continue;
    const cat = readers(toHeads.outputs[0]!).find((n) => n.op === "Concat" && n.inputs.length === 2 && n.inputs[0] === toHeads.outputs[0] && [2, -2].includes(n.ints.get("axis") ?? 0));
    if (!cat) continue;
    const full = cat.outputs[0]!;
    // The present output: Slice(full, past length...) -> Transpose, as kv-append.ts builds it.
    const slice = readers(full).find((n) => n.op === "Slice" && n.inputs[0] === full && readers(n.outputs[0]!).length === 1 && permIs(readers(n.outputs[0]!)[0]!, HEAD_MAJOR) && outputs.has(readers(n.outputs[0]!)[0]!.outputs[0]!));
    if (!slice) continue;
    const toPresent = readers(slice.outputs[0]!)[0]!;
    const present = toPresent.outputs[0]!;
    const p = `${PREFIX}_${k++}`;
    const seq = `${p}_full`;
    const seq3 = `${p}_full3`;
    const atCat = [
      nodeField("Transpose", [cat.inputs[1]!], [present], `${p}_present`, [intsAttr("perm", HEAD_MAJOR)]),
      nodeField("Concat", [past.name, present], [seq], seq, [intAttr("axis", 1)]),
      axis0("Squeeze", seq, seq3),
    ];
    replaced.set(cat.field, atCat);
    for (const n of [slice, toPresent]) dropped.add(n.field);
    let headMajor = false;
    let m = 0;
    const fused = (mm: NodeView, transB: boolean) => {
      const q = `${p}_mm${m++}`;
      const attrs = [...(transB ? [intAttr("transB", 1)] : []), intAttr("transBatchB", 1)];
      replaced.set(mm.field, [axis0("Squeeze", mm.inputs[0]!, `${q}_a`), msNode("FusedMatMul", [`${q}_a`, seq3], [`${q}_out`], `${q}_fused`, attrs), axis0("Unsqueeze", `${q}_out`, mm.outputs[0]!)]);
      rewritten++;
    };
    for (const c of readers(full)) {
      if (c === slice) continue;
      const users = permIs(c, [0, 1, 3, 2]) ? readers(c.outputs[0]!) : [];
      if (c.op === "MatMul" && c.domain === "" && c.inputs[1] === full && c.inputs[0] !== full) fused(c, false);
      else if (users.length > 0 && !outputs.has(c.outputs[0]!) && users.every((u) => u.op === "MatMul" && u.domain === "" && u.inputs[1] === c.outputs[0] && u.inputs[0] !== c.outputs[0])) {
        for (const u of users) fused(u, true);
        dropped.add(c.field);
      } else headMajor = true;
    }
    // Readers the products above do not cover (a repeat_kv left as exported) get the copy.
    if (headMajor || outputs.has(full)) atCat.push(nodeField("Transpose", [seq], [full], `${p}_heads`, [intsAttr("perm", HEAD_MAJOR)]));
  }
  if (rewritten === 0) return { bytes, rewritten: 0 };
  // The node list with the replacements in place, then only what the outputs need: the past's
  // head-major transposes, the past length the slices used, and readers that were already dead
  // (a Shape of the full cache that sized a repeat_kv another rewrite removed) go.
  const listed: { field: Uint8Array; node?: NodeView }[] = graph.filter((f) => !dropped.has(f)).flatMap((f) => (f.no !== GRAPH.node ? [{ field: f.raw }] : (replaced.get(f) ?? [f.raw]).map((raw) => ({ field: raw, node: viewNode(parseFields(raw)[0]!) }))));
  const needed = new Set(outputs);
  const live = new Set<Uint8Array>();
  for (let i = listed.length - 1; i >= 0; i--) {
    const { field, node } = listed[i]!;
    if (!node || !node.outputs.some((o) => needed.has(o))) continue;
    live.add(field);
    for (const x of node.inputs) needed.add(x);
  }
  // Initializers only the removed nodes read (the slices' bounds) go with them.
  const removedReads = new Set(nodes.flatMap((n) => n.inputs).filter((x) => !needed.has(x)));
  const kept = listed.filter(({ field, node }) => (node ? live.has(field) : !(parseFields(field)[0]!.no === GRAPH.initializer && removedReads.has(initializerName(parseFields(field)[0]!)))));
  const body = withGraphBody(model, graphField, [...kept.map((x) => x.field), ...initializers]);
  return { bytes: withMsOpset(model, body), rewritten };
}

function initializerName(f: Field): string {
  const name = parseFields(f.body).find((x) => x.no === TENSOR.name);
  return name ? text(name.body) : "";
}

/** A node in the com.microsoft domain. */
function msNode(op: string, inputs: string[], outputs: string[], name: string, attrs: Uint8Array[]): Uint8Array {
  const f = parseFields(nodeField(op, inputs, outputs, name, attrs))[0]!;
  return bytesField(GRAPH.node, concat([f.body, stringField(NODE.domain, MS_DOMAIN)]));
}

/** The model bytes with a com.microsoft opset import added, unless the model has one. */
function withMsOpset(before: readonly Field[], bytes: Uint8Array): Uint8Array {
  const has = before.some((f) => f.no === MODEL.opsetImport && parseFields(f.body).some((x) => x.no === 1 && text(x.body) === MS_DOMAIN));
  return has ? bytes : concat([bytes, bytesField(MODEL.opsetImport, concat([stringField(1, MS_DOMAIN), varintField(2, 1)]))]);
}
