/**
 * Grouped-query attention without copying the KV cache per query head.
 *
 * Decomposed exports of GQA models (transformers' eager `repeat_kv`) repeat every KV head for its
 * group of query heads before the two attention MatMuls:
 *   K [B, Hkv, T, D] -> Unsqueeze(2) -> Expand [B, Hkv, G, T, D] -> Reshape [B, H, T, D]
 * which writes G copies of the whole cache every step, and the MatMuls then read all G copies.
 * At 1000 positions that traffic grows every step's cost with context. The same products come
 * from viewing the query heads of a group as more rows of one matrix, since query head
 * h = kv * G + g:
 *   scores = Reshape(MatMul(Reshape(Q, [B, Hkv, G*S, D]), K^T), [B, H, S, T])
 *   context = Reshape(MatMul(Reshape(probs, [B, Hkv, G*S, T]), V), [B, H, S, D])
 * Reshapes of contiguous tensors are free; each logit is still one dot product over D.
 *
 * The pattern is recognised by its data, not names: a MatMul whose second input is the repeat of a
 * `present.*` output (through the Transpose for K). Anything else is left alone.
 */
import { graphNodes, type NodeView, permOf, renamed } from "./graph-nodes.ts";
import { concat, type Field, parseFields, withGraphBody } from "./protobuf.ts";
import { DTYPE, initializerField, intsAttr, MODEL, nodeField, int64Raw } from "./schema.ts";

export interface GroupedAttentionResult {
  bytes: Uint8Array;
  /** MatMuls that now read the cache once per KV head (2 per layer when it applies). */
  rewritten: number;
}

const PRESENT = /^present\.\d+\.(key|value)$/;
const PREFIX = "edgespec_gqa";

export function groupedAttention(bytes: Uint8Array, heads: { numHeads: number; numKvHeads: number }): GroupedAttentionResult {
  const { numHeads: H, numKvHeads: Hkv } = heads;
  const model = parseFields(bytes);
  const graphField = model.find((f) => f.no === MODEL.graph);
  if (!graphField || !(H > 0 && Hkv > 0 && H % Hkv === 0)) return { bytes, rewritten: 0 };
  const graph = parseFields(graphField.body);
  const nodes = graphNodes(graph);
  const producer = new Map<string, NodeView>();
  const consumers = new Map<string, NodeView[]>();
  for (const n of nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const only = (name: string, n: NodeView) => (consumers.get(name) ?? []).length === 1 && consumers.get(name)![0] === n;
  /** The repeated cache tensor behind `name` (Reshape(Expand(Unsqueeze(present)))), and the nodes that repeat it. */
  const repeatOf = (name: string): { kv: string; chain: NodeView[] } | undefined => {
    const reshape = producer.get(name);
    if (reshape?.op !== "Reshape") return undefined;
    const expand = producer.get(reshape.inputs[0]!);
    if (expand?.op !== "Expand" || !only(expand.outputs[0]!, reshape)) return undefined;
    const unsqueeze = producer.get(expand.inputs[0]!);
    if (unsqueeze?.op !== "Unsqueeze" || !only(unsqueeze.outputs[0]!, expand)) return undefined;
    const kv = unsqueeze.inputs[0]!;
    return PRESENT.test(kv) ? { kv, chain: [unsqueeze, expand, reshape] } : undefined;
  };
  const replaced = new Map<Field, Uint8Array>();
  const dropped = new Set<Field>();
  let k = 0;
  for (const mm of nodes) {
    if (mm.op !== "MatMul" || mm.domain !== "") continue;
    const second = mm.inputs[1]!;
    // scores = Q · Transpose(repeat(K)), or context = probs · repeat(V).
    const t = producer.get(second);
    const isKeyT = t?.op === "Transpose" && permOf(t).join() === "0,1,3,2" && only(second, mm);
    const r = isKeyT ? repeatOf(t!.inputs[0]!) : repeatOf(second);
    if (!r || !only(isKeyT ? t!.inputs[0]! : second, isKeyT ? t! : mm)) continue;
    if (!r.kv.endsWith(isKeyT ? ".key" : ".value")) continue;
    const { kv } = r;
    const chain = isKeyT ? [...r.chain, t!] : r.chain;
    const transposeK = isKeyT;
    const p = `${PREFIX}_${k++}`;
    const out = mm.outputs[0]!;
    const fields: Uint8Array[] = [
      initializerField(`${p}_grouped`, DTYPE.int64, int64Raw([0, Hkv, -1, 0]), [4]),
      initializerField(`${p}_heads`, DTYPE.int64, int64Raw([0, H, -1, 0]), [4]),
      // Q [B, H, S, D] (or probs [B, H, S, T]) as [B, Hkv, G*S, D|T]: the last dim is copied (0).
      nodeField("Reshape", [mm.inputs[0]!, `${p}_grouped`], [`${p}_rows`], `${p}_rows`),
    ];
    let right = kv;
    if (transposeK) {
      fields.push(nodeField("Transpose", [kv], [`${p}_kT`], `${p}_kT`, [intsAttr("perm", [0, 1, 3, 2])]));
      right = `${p}_kT`;
    }
    fields.push(renamed(mm, [`${p}_rows`, right], [`${p}_out`]));
    fields.push(nodeField("Reshape", [`${p}_out`, `${p}_heads`], [out], `${p}_back`));
    replaced.set(mm.field, concat(fields));
    for (const n of chain) dropped.add(n.field);
  }
  if (k === 0) return { bytes, rewritten: 0 };
  // Constants only the dropped nodes read (the Unsqueeze axes) go with them.
  for (const n of nodes) {
    if (n.op === "Constant" && n.outputs.every((o) => (consumers.get(o) ?? []).every((c) => dropped.has(c.field)))) dropped.add(n.field);
  }
  const fields = graph.filter((f) => !dropped.has(f)).map((f) => replaced.get(f) ?? f.raw);
  return { bytes: withGraphBody(model, graphField, fields), rewritten: k };
}
