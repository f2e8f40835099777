/**
 * GroupQueryAttention written out in plain ops (src/onnx/gqa-decompose.ts), on the fused layouts
 * rebuilt from the reference model (test/helpers/genai-replica.ts): every GQA node goes, the
 * graph's inputs and outputs stay, and the logits and the cache are the fused kernel's (onnxruntime
 * WASM running the replica as built) through a prompt, steps, a chain, a tree with its bias and
 * positions, and contexts past a local window. Nodes with what the rewrite does not write out keep
 * the kernel.
 */
import { describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-web";
import { bunHost } from "../../adapters/bun/host.ts";
import { CausalLM } from "../../src/model/causal-lm.ts";
import { readModelSpec } from "../../src/model/config.ts";
import { IO } from "../../src/model/io-names.ts";
import { decomposeGroupQueryAttention } from "../../src/onnx/gqa-decompose.ts";
import { readGraphIo } from "../../src/onnx/graph-io.ts";
import { graphNodes, withInputs } from "../../src/onnx/graph-nodes.ts";
import { bytesField, concat, parseFields, withGraphBody } from "../../src/onnx/protobuf.ts";
import { DTYPE, GRAPH, MODEL, NODE, TENSOR } from "../../src/onnx/schema.ts";
import { addTreeAttention } from "../../src/onnx/tree-attention.ts";
import { genaiReplica, type ReplicaOptions } from "../helpers/genai-replica.ts";
import { MODEL_DIR } from "../helpers/model.ts";
import { floatAttr } from "../helpers/replica-weights.ts";

const REFERENCE = await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`);
const SPEC = readModelSpec(JSON.parse(new TextDecoder().decode(await bunHost.readFile(`${MODEL_DIR}/config.json`))), {});
const D = SPEC.headDim;

const LAYOUTS: [string, ReplicaOptions][] = [
  ["onnxruntime-genai, packed QKV", { positions: "genai", packedQkv: true }],
  ["onnxruntime-genai, separate Q/K/V", { positions: "genai", packedQkv: false }],
  ["RotaryEmbedding nodes, do_rotary=0", { positions: "rotary-input", packedQkv: false }],
  ["local window of 8", { positions: "genai", packedQkv: true, localWindow: 8 }],
];

function nodesOf(model: Uint8Array) {
  return graphNodes(parseFields(parseFields(model).find((f) => f.no === MODEL.graph)!.body));
}

/** A CausalLM straight on a graph: the export's own cache I/O (head-major past, whole present). */
async function lmOf(graph: Uint8Array, positions: "input" | "from-mask") {
  const session = await ort.InferenceSession.create(graph, { executionProviders: ["wasm"] });
  const info = { backend: "wasm" as const, dtype: "fp32" as const, file: "", inputNames: session.inputNames, layout: { kvType: "float32", kvIo: "whole", positions } as never, int8Activations: false, treeAttention: { enabled: positions === "input" } };
  return new CausalLM(ort as never, session, SPEC, info);
}

/** Largest |a - b| over two equally long arrays. */
function worst(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!));
  return w;
}

describe("GroupQueryAttention in plain ops", () => {
  for (const [name, opts] of LAYOUTS) {
    test(`${name}: every GQA node is written out; inputs and outputs unchanged; a second pass finds none`, () => {
      const fused = genaiReplica(REFERENCE, opts);
      const r = decomposeGroupQueryAttention(fused, { headDim: D });
      expect(r.rewritten).toBe(SPEC.numLayers);
      expect(r.reason).toBeUndefined();
      const nodes = nodesOf(r.bytes);
      expect(nodes.filter((n) => n.op === "GroupQueryAttention").length).toBe(0);
      expect(nodes.filter((n) => n.op === "Softmax").length).toBe(SPEC.numLayers);
      // Each past input is read once, by the Concat that makes the present (so the append and
      // sequence-major rewrites after it leave no head-major copy of the cache).
      for (let l = 0; l < SPEC.numLayers; l++) {
        for (const kv of ["key", "value"]) expect(nodes.filter((n) => n.inputs.includes(`past_key_values.${l}.${kv}`)).map((n) => n.op)).toEqual(["Concat"]);
      }
      // Every initializer it adds is named once (a duplicate is only a warning to onnxruntime, and
      // makes the tensor a graph input rather than a constant).
      const names = parseFields(parseFields(r.bytes).find((f) => f.no === MODEL.graph)!.body)
        .filter((f) => f.no === GRAPH.initializer)
        .map((f) => new TextDecoder().decode(parseFields(f.body).find((x) => x.no === TENSOR.name)!.body));
      expect(names.length).toBe(new Set(names).size);
      expect(readGraphIo(r.bytes).inputs).toEqual(readGraphIo(fused).inputs);
      expect(readGraphIo(r.bytes).outputs).toEqual(readGraphIo(fused).outputs);
      expect(decomposeGroupQueryAttention(r.bytes, { headDim: D }).rewritten).toBe(0);
    });

    test(`${name}: logits and cache are the kernel's through a prompt, steps and a chain`, async () => {
      const fused = genaiReplica(REFERENCE, opts);
      const positions = opts.positions === "rotary-input" ? "input" : "from-mask";
      const kernel = await lmOf(fused, positions);
      const plain = await lmOf(decomposeGroupQueryAttention(fused, { headDim: D }).bytes, positions);
      const [a, b] = [kernel.newCache(), plain.newCache()];
      const diffs: number[] = [];
      // 20 prompt tokens: past the local window, so the window's edge is in the mask.
      const ids = [1, ...Array.from({ length: 19 }, (_, i) => (i * 37 + 11) % SPEC.vocabSize)];
      diffs.push(worst(await kernel.forward(ids, ids.map((_, i) => i), a), await plain.forward(ids, ids.map((_, i) => i), b)));
      for (const t of [5, 900, 17]) {
        const p = a.length;
        diffs.push(worst(await kernel.forward([t], [p], a), await plain.forward([t], [p], b)));
      }
      const p = a.length;
      diffs.push(worst(await kernel.forward([40, 41, 42, 43], [p, p + 1, p + 2, p + 3], a), await plain.forward([40, 41, 42, 43], [p, p + 1, p + 2, p + 3], b)));
      // The caches hold the same keys and values (present = past + new, head-major, as the kernel returns it).
      expect(a.length).toBe(b.length);
      const [ka, kb]: Record<string, ort.Tensor>[] = [{}, {}];
      a.feeds(ka);
      b.feeds(kb);
      expect(Object.keys(ka).length).toBe(2 * SPEC.numLayers);
      for (const [k, t] of Object.entries(ka)) diffs.push(worst(t.data as Float32Array, kb[k]!.data as Float32Array));
      expect(Math.max(...diffs)).toBeLessThan(1e-4);
      await kernel.dispose();
      await plain.dispose();
    });
  }

  test("after the tree rewrite: a tree's rows (its bias and depth positions) are the kernel's", async () => {
    const tree = (g: Uint8Array) => addTreeAttention(g, { floatType: DTYPE.float, positionIds: IO.positionIds }).bytes;
    const fused = tree(genaiReplica(REFERENCE, { positions: "genai", packedQkv: true }));
    const kernel = await lmOf(fused, "input");
    const plain = await lmOf(decomposeGroupQueryAttention(fused, { headDim: D }).bytes, "input");
    const [a, b] = [kernel.newCache(), plain.newCache()];
    const ids = Array.from({ length: 12 }, (_, i) => (i * 53 + 7) % SPEC.vocabSize);
    const diffs = [worst(await kernel.forward(ids, ids.map((_, i) => i), a), await plain.forward(ids, ids.map((_, i) => i), b))];
    // Root, two children of it, a grandchild of the first: each row sees the past and its ancestors.
    const p = a.length;
    const total = p + 4;
    const bias = new Float32Array(4 * total).fill(-Infinity);
    [[0], [0, 1], [0, 2], [0, 1, 3]].forEach((row, i) => {
      for (let j = 0; j < p; j++) bias[i * total + j] = 0;
      for (const j of row) bias[i * total + p + j] = 0;
    });
    const rows = [await kernel.forward([40, 41, 42, 43], [p, p + 1, p + 1, p + 2], a, { attentionBias: bias }), await plain.forward([40, 41, 42, 43], [p, p + 1, p + 1, p + 2], b, { attentionBias: bias })];
    diffs.push(worst(rows[0]!, rows[1]!));
    expect(Math.max(...diffs)).toBeLessThan(1e-4);
    await kernel.dispose();
    await plain.dispose();
  });

  test("nodes with what the rewrite does not write out keep the kernel, with the reason", () => {
    const fused = genaiReplica(REFERENCE, { positions: "genai", packedQkv: true });
    // Soft-capped scores on every GQA node.
    const model = parseFields(fused);
    const graphField = model.find((f) => f.no === MODEL.graph)!;
    const graph = parseFields(graphField.body);
    const gqa = new Set(graphNodes(graph).filter((n) => n.op === "GroupQueryAttention").map((n) => n.field));
    const capped = withGraphBody(
      model,
      graphField,
      graph.map((f) => (gqa.has(f) ? bytesField(GRAPH.node, concat([f.body, bytesField(NODE.attribute, floatAttr("softcap", 30))])) : f.raw)),
    );
    const r = decomposeGroupQueryAttention(capped, { headDim: D });
    expect(r.rewritten).toBe(0);
    expect(r.bytes).toBe(capped);
    expect(r.reason).toBe("softcap");
    // An attention bias of the export's own (it may be per head) keeps the kernel too.
    const ownBias = withGraphBody(
      model,
      graphField,
      graph.map((f) => (gqa.has(f) ? withInputs(graphNodes([f])[0]!, [...graphNodes([f])[0]!.inputs, "", "", "", "", ""].slice(0, 10).concat("export_bias")) : f.raw)),
    );
    expect(decomposeGroupQueryAttention(ownBias, { headDim: D })).toMatchObject({ rewritten: 0, reason: "an attention bias of the export's own" });
    // A graph without GQA is left as it is.
    const reference = decomposeGroupQueryAttention(REFERENCE, { headDim: D });
    expect(reference).toEqual({ bytes: REFERENCE, rewritten: 0 });
  });
});
