import { describe, expect, test } from "bun:test";
import { bunHost } from "../../adapters/bun/host.ts";
import { treeAttentionBias, treePositions } from "../../src/engine/tree-bias.ts";
import { loadModel } from "../../src/model/load.ts";
import { addTreeAttention } from "../../src/onnx/tree-attention.ts";
import { Rng } from "../../src/decode/rng.ts";
import { bytesField, concat, parseFields, stringField, text } from "../../src/onnx/protobuf.ts";
import { ATTR, DTYPE, GRAPH, MODEL, NODE } from "../../src/onnx/schema.ts";
import { genaiReplica } from "../helpers/genai-replica.ts";
import { withSoftmaxCasts } from "../helpers/graph-surgery.ts";
import { MODEL_DIR, referenceModel } from "../helpers/model.ts";
import { randomTree } from "../helpers/test-drafters.ts";

const POS = { positionIds: "position_ids" };
import { compareTreeRows } from "../helpers/tree-rows.ts";

/** The model with every node of op type `from` renamed to `to`. */
function renameOps(model: Uint8Array, from: string, to: string): Uint8Array {
  const edit = (graph: Uint8Array) =>
    concat(parseFields(graph).map((f) => (f.no !== GRAPH.node ? f.raw : bytesField(GRAPH.node, concat(parseFields(f.body).map((x) => (x.no === NODE.opType && text(x.body) === from ? stringField(NODE.opType, to) : x.raw)))))));
  return concat(parseFields(model).map((f) => (f.no === MODEL.graph ? bytesField(MODEL.graph, edit(f.body)) : f.raw)));
}

/** The `to` of each Cast node the rewrite added. */
function addedCasts(model: Uint8Array): number[] {
  const graph = parseFields(parseFields(model).find((f) => f.no === MODEL.graph)!.body);
  return graph
    .filter((f) => f.no === GRAPH.node)
    .map((f) => parseFields(f.body))
    .filter((n) => text(n.find((x) => x.no === NODE.opType)!.body) === "Cast" && text(n.find((x) => x.no === NODE.name)!.body).startsWith("edgespec_tree_cast_"))
    .map((n) => parseFields(n.find((x) => x.no === NODE.attribute)!.body).find((x) => x.no === ATTR.i)!.value);
}

const original = loadModel(bunHost, MODEL_DIR, { dtype: "fp32", device: "wasm", treeAttention: false });

describe("tree attention graph rewrite", () => {
  test("finds one attention Softmax per layer in the reference graph", async () => {
    const bytes = await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`);
    const r = addTreeAttention(bytes, POS);
    expect(r.rewritten).toBe(true);
    expect(r.layers).toBe((await referenceModel()).lm.spec.numLayers);
    expect(addTreeAttention(r.bytes, POS).layers).toBe(-1); // idempotent: already rewritten
  });

  test("the Softmax is found between Casts (eager fp16 exports), once per layer", async () => {
    const bytes = withSoftmaxCasts(await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`));
    expect(addTreeAttention(bytes, POS).layers).toBe((await referenceModel()).lm.spec.numLayers);
  });

  test("at opset < 15 (no CastLike) the bias is cast to the scores' type: the graph's, or a Cast's before the Softmax", async () => {
    const bytes = await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`); // opset 14, float32
    const casts = (b: Uint8Array) => addedCasts(addTreeAttention(b, { ...POS, floatType: DTYPE.float16 }).bytes);
    expect(addedCasts(addTreeAttention(bytes, POS).bytes)).toEqual([]); // float32 scores: the bias as it is
    expect(casts(bytes)).toEqual(Array(6).fill(DTYPE.float16)); // a float16 graph
    // Softmax computed in float32 inside a float16 graph (a Cast to float before it): no cast.
    expect(casts(withSoftmaxCasts(bytes))).toEqual([]);
  });

  test("fused attention: positions fed where the op or its RotaryEmbedding nodes take them, else left alone with the reason", async () => {
    const reference = await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`);
    const genai = addTreeAttention(genaiReplica(reference, { positions: "genai", packedQkv: true }), POS);
    expect({ rewritten: genai.rewritten, kind: genai.kind, layers: genai.layers, added: genai.addedInputs }).toEqual({ rewritten: true, kind: "fused", layers: 6, added: ["position_ids"] });
    const withInput = addTreeAttention(genaiReplica(reference, { positions: "rotary-input", packedQkv: false }), POS);
    expect(withInput.addedInputs).toEqual([]); // the graph's own position_ids already reach RotaryEmbedding
    // Rotary in plain ops fed from the mask (here: the RotaryEmbedding nodes renamed away).
    const plainRotary = renameOps(genaiReplica(reference, { positions: "rotary-from-mask", packedQkv: false }), "RotaryEmbedding", "RotaryFromPlainOps");
    const r = addTreeAttention(plainRotary, POS);
    expect(r.rewritten).toBe(false);
    expect(r.reason).toBe("GroupQueryAttention gets rotated Q/K from plain ops that derive positions from attention_mask, so tree nodes cannot get their own positions");
    const other = addTreeAttention(renameOps(genaiReplica(reference, { positions: "genai", packedQkv: true }), "GroupQueryAttention", "PagedAttention"), POS);
    expect(other.reason).toBe("attention is fused into PagedAttention, which has no tree rewrite yet");
  });

  test("a graph with no attention Softmax is left alone, with the reason", () => {
    const r = addTreeAttention(new Uint8Array([0x08, 0x07]), POS); // ModelProto { ir_version: 7 }, no graph
    expect(r.rewritten).toBe(false);
    expect(r.reason).toMatch(/no graph/);
  });

  test("with a zero bias the rewritten graph computes exactly what the original does", async () => {
    const a = (await referenceModel("fp32")).lm;
    const b = (await original).lm;
    expect(a.info.treeAttention.enabled).toBe(true);
    expect(b.info.treeAttention.enabled).toBe(false);
    const ids = [1, 50, 60, 70, 80, 90];
    const la = await a.forward(ids, ids.map((_, i) => i), a.newCache());
    const lb = await b.forward(ids, ids.map((_, i) => i), b.newCache());
    let worst = 0;
    for (let i = 0; i < la.length; i++) worst = Math.max(worst, Math.abs(la[i]! - lb[i]!));
    expect(worst).toBeLessThan(1e-6);
  });

  test("every node of random trees gets the logits of decoding its root-to-node path plainly", async () => {
    const { lm, tokenizer } = await referenceModel("fp32");
    const plainLm = (await original).lm;
    const prompt = tokenizer.encode("def parse(line):\n    key, value = line.split('=')\n", true);
    // Each size on its own, so a failure says which.
    const rng = new Rng(2024);
    for (const size of [1, 7, 24]) {
      const r = await compareTreeRows(lm, plainLm, prompt, [size], rng);
      expect(r.worst).toBeLessThan(1e-4);
    }
  });

  test("after keeping an accepted path, decoding continues as if only that path had been fed", async () => {
    const { lm, tokenizer } = await referenceModel("fp32");
    const plainLm = (await original).lm;
    const V = lm.spec.vocabSize;
    const tree = randomTree(new Rng(7), 16, V);
    const prompt = tokenizer.encode("const x = [1, 2, 3];\n", true);
    const past = prompt.slice(0, -1);
    const root = prompt[prompt.length - 1]!;
    const cache = lm.newCache();
    await lm.forward(past, past.map((_, i) => i), cache);
    await lm.forward([root, ...tree.tokens], treePositions(tree, past.length), cache, { attentionBias: treeAttentionBias(tree, past.length) });
    // Accept the path to the deepest node.
    let deepest = 0;
    for (let i = 0; i < tree.size; i++) if (tree.depths[i]! > tree.depths[deepest]!) deepest = i;
    const path: number[] = [];
    for (let k = deepest; k >= 0; k = tree.parents[k]!) path.unshift(k);
    cache.keep([...past.map((_, i) => i), past.length, ...path.map((k) => past.length + 1 + k)]);
    const next = 11;
    const la = await lm.forward([next], [cache.length], cache);
    const seq = [...past, root, ...path.map((k) => tree.tokens[k]!), next];
    const lb = await plainLm.forward(seq, seq.map((_, i) => i), plainLm.newCache());
    let worst = 0;
    for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(la[v]! - lb[(seq.length - 1) * V + v]!));
    expect(worst).toBeLessThan(1e-4);
  });
});
