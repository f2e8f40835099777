/**
 * Attention on the sequence-major cache (src/onnx/seq-major-attention.ts): on both shipped models
 * the rewrite turns both attention MatMuls of every layer into FusedMatMuls over the cache as fed,
 * leaves no head-major copy of the past, keeps the graph's inputs and outputs, and computes the
 * append graph's logits bit for bit through a prefill, steps, a tree step and a rollback.
 */
import { describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-web";
import { bunHost } from "../../adapters/bun/host.ts";
import { CausalLM } from "../../src/model/causal-lm.ts";
import { readModelSpec } from "../../src/model/config.ts";
import { readGraphIo } from "../../src/onnx/graph-io.ts";
import { graphNodes } from "../../src/onnx/graph-nodes.ts";
import { groupedAttention } from "../../src/onnx/grouped-attention.ts";
import { appendOnlyKv } from "../../src/onnx/kv-append.ts";
import { parseFields } from "../../src/onnx/protobuf.ts";
import { MODEL } from "../../src/onnx/schema.ts";
import { seqMajorAttention } from "../../src/onnx/seq-major-attention.ts";
import { addTreeAttention } from "../../src/onnx/tree-attention.ts";
import { DTYPE } from "../../src/onnx/schema.ts";
import { IO } from "../../src/model/io-names.ts";
import { toFloat16 } from "../helpers/graph-surgery.ts";
import { REPO } from "../helpers/model.ts";

const MODELS = ["edgespec-tiny", "edgespec-small"];

function nodesOf(model: Uint8Array) {
  return graphNodes(parseFields(parseFields(model).find((f) => f.no === MODEL.graph)!.body));
}

/** The model's graph as the loader has it before this rewrite: tree attention, grouped heads, append-only cache. */
async function appendGraph(model: string) {
  const dir = `${REPO}models/${model}`;
  const spec = readModelSpec(JSON.parse(new TextDecoder().decode(await bunHost.readFile(`${dir}/config.json`))), {});
  let g = addTreeAttention(await bunHost.readFile(`${dir}/onnx/model.onnx`), { floatType: DTYPE.float, positionIds: IO.positionIds }).bytes;
  g = groupedAttention(g, { numHeads: spec.numHeads!, numKvHeads: spec.numKvHeads }).bytes;
  return { spec, bytes: appendOnlyKv(g).bytes };
}

describe("sequence-major attention rewrite", () => {
  for (const model of MODELS) {
    test(`${model}: every attention MatMul reads the cache as fed; inputs and outputs unchanged`, async () => {
      const { spec, bytes } = await appendGraph(model);
      const r = seqMajorAttention(bytes);
      expect(r.rewritten).toBe(2 * spec.numLayers);
      const nodes = nodesOf(r.bytes);
      expect(nodes.filter((n) => n.op === "FusedMatMul" && n.domain === "com.microsoft").length).toBe(2 * spec.numLayers);
      // No node copies a past input head-major any more, and no Slice cuts the present from the full cache.
      expect(nodes.filter((n) => n.op === "Transpose" && n.inputs.some((i) => i.startsWith("past_key_values."))).length).toBe(0);
      expect(nodes.filter((n) => n.op === "Slice" && n.outputs.some((o) => o.includes("present."))).length).toBe(0);
      expect(readGraphIo(r.bytes).inputs).toEqual(readGraphIo(bytes).inputs);
      expect(readGraphIo(r.bytes).outputs).toEqual(readGraphIo(bytes).outputs);
      // Applied twice, the second finds nothing to do.
      expect(seqMajorAttention(r.bytes)).toEqual({ bytes: r.bytes, rewritten: 0 });
    });

    test(`${model}: logits and the cache equal the append graph's, bit for bit, through prefill, steps, a tree and a rollback`, async () => {
      const { spec, bytes } = await appendGraph(model);
      const lmOf = async (graph: Uint8Array) => {
        const session = await ort.InferenceSession.create(graph, { executionProviders: ["wasm"] });
        const info = { backend: "wasm" as const, dtype: "fp32" as const, file: "", inputNames: session.inputNames, layout: { kvType: "float32", kvIo: "append", positions: "input" } as never, int8Activations: false, treeAttention: { enabled: true } };
        return new CausalLM(ort as never, session, spec, info);
      };
      const before = await lmOf(bytes);
      const after = await lmOf(seqMajorAttention(bytes).bytes);
      const [a, b] = [before.newCache(), after.newCache()];
      let differ = 0;
      const same = (x: Float32Array, y: Float32Array) => {
        expect(x.length).toBe(y.length);
        for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) differ++;
      };
      const ids = [1, ...Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % spec.vocabSize)];
      same(await before.forward(ids, ids.map((_, i) => i), a), await after.forward(ids, ids.map((_, i) => i), b));
      for (const t of [5, 900, 17]) {
        const p = a.length;
        same(await before.forward([t], [p], a), await after.forward([t], [p], b));
      }
      // A tree: root, two children of it, a grandchild of the first (positions by depth, ancestors only).
      const p = a.length;
      const total = p + 4;
      const bias = new Float32Array(4 * total).fill(-Infinity);
      const ancestors = [[0], [0, 1], [0, 2], [0, 1, 3]];
      ancestors.forEach((row, i) => {
        for (let j = 0; j < p; j++) bias[i * total + j] = 0;
        for (const j of row) bias[i * total + p + j] = 0;
      });
      const tree = { tokens: [40, 41, 42, 43], positions: [p, p + 1, p + 1, p + 2] };
      same(await before.forward(tree.tokens, tree.positions, a, { attentionBias: bias }), await after.forward(tree.tokens, tree.positions, b, { attentionBias: bias }));
      // Keep the path root -> first child -> its child (tree rows 0, 1, 3) after the prefix, then step on.
      const path = [...Array.from({ length: p }, (_, i) => i), p, p + 1, p + 3];
      a.keep(path);
      b.keep(path);
      same(await before.forward([7], [p + 3], a), await after.forward([7], [p + 3], b));
      a.truncate(p);
      b.truncate(p);
      same(await before.forward([8, 9], [p, p + 1], a), await after.forward([8, 9], [p, p + 1], b));
      expect(differ).toBe(0);
      await before.dispose();
      await after.dispose();
    });
  }

  test("a graph whose cache is not concatenated by a plain Concat, or a float16 one, is left as it is", async () => {
    // The export itself (head-major past, whole present): no Transpose of a past input to find.
    const original = await bunHost.readFile(`${REPO}models/edgespec-tiny/onnx/model.onnx`);
    expect(seqMajorAttention(original)).toEqual({ bytes: original, rewritten: 0 });
    // A float16 cache: FusedMatMul's CPU kernel is float32 only, so the append graph stays.
    const half = appendOnlyKv(toFloat16(original)).bytes;
    expect(seqMajorAttention(half)).toEqual({ bytes: half, rewritten: 0 });
    expect(seqMajorAttention(new Uint8Array(0))).toEqual({ bytes: new Uint8Array(0), rewritten: 0 });
  });
});
