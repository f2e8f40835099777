/**
 * The append-only KV rewrite (src/onnx/kv-append.ts): the graph's edges change (past sequence-major,
 * present = the positions a step added) and nothing else: its logits are the original graph's,
 * bit for bit, over a prefill, single steps and a rollback.
 */
import { describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-web";
import { bunHost } from "../../adapters/bun/host.ts";
import { readGraphIo } from "../../src/onnx/graph-io.ts";
import { CausalLM } from "../../src/model/causal-lm.ts";
import { appendOnlyKv, PACKED_PRESENT } from "../../src/onnx/kv-append.ts";
import { MODEL_DIR, referenceModel } from "../helpers/model.ts";
import { GraphBuilder } from "../helpers/replica-weights.ts";
import { graphNodes, valueInfo } from "../../src/onnx/graph-nodes.ts";
import { bytesField, concat, parseFields, stringField, varintField } from "../../src/onnx/protobuf.ts";
import { DTYPE, GRAPH, MODEL } from "../../src/onnx/schema.ts";

describe("append-only KV graph rewrite", () => {
  test("declares sequence-major past inputs and present outputs, and is idempotent", async () => {
    const original = await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`);
    const r = appendOnlyKv(original);
    expect(r.rewritten).toBe(true);
    const before = readGraphIo(original);
    const after = readGraphIo(r.bytes);
    const past0 = before.inputs.find((v) => v.name === "past_key_values.0.key")!;
    expect(after.inputs.find((v) => v.name === "past_key_values.0.key")!.dims).toEqual([past0.dims![0], past0.dims![2], past0.dims![1], past0.dims![3]]);
    expect(after.outputs.find((v) => v.name === "present.5.value")!.dims![1]).toBe("sequence_length");
    expect(after.inputs.map((v) => v.name).sort()).toEqual(before.inputs.map((v) => v.name).sort());
    // One output more: every layer's new positions packed (what the cache fetches).
    expect(after.outputs.map((v) => v.name).sort()).toEqual([...before.outputs.map((v) => v.name), PACKED_PRESENT].sort());
    expect(after.outputs.find((v) => v.name === PACKED_PRESENT)!.dims!.slice(2)).toEqual([past0.dims![1], past0.dims![3]]);
    const again = appendOnlyKv(r.bytes);
    expect(again).toEqual({ bytes: r.bytes, rewritten: true });
  });

  test("the packed output is every layer's present, key before value, in layer order", async () => {
    const session = await ort.InferenceSession.create(appendOnlyKv(await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`)).bytes, { executionProviders: ["wasm"] });
    const layers = session.inputNames.filter((n) => n.startsWith("past_key_values.")).length / 2;
    const pastDims = (n: number) => [1, n, 4, 32];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", BigInt64Array.from([1n, 50n, 60n]), [1, 3]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(3).fill(1n), [1, 3]),
      position_ids: new ort.Tensor("int64", BigInt64Array.from([0n, 1n, 2n]), [1, 3]),
    };
    for (let l = 0; l < layers; l++) for (const t of ["key", "value"]) feeds[`past_key_values.${l}.${t}`] = new ort.Tensor("float32", new Float32Array(0), pastDims(0));
    const out = await session.run(feeds);
    const packed = out[PACKED_PRESENT]!;
    expect(packed.dims).toEqual([2 * layers, 3, 4, 32]);
    const each = Array.from({ length: layers }, (_, l) => ["key", "value"].map((t) => Array.from(out[`present.${l}.${t}`]!.data as Float32Array))).flat(2);
    expect(Array.from(packed.data as Float32Array)).toEqual(each);
    await session.release();
  });

  test("the packed output is left out where layers' caches differ in shape (and the per-layer outputs serve)", () => {
    const graphWith = (heads: number[], reversed = false) => {
      const g = new GraphBuilder();
      const io: Uint8Array[] = [];
      heads.forEach((h, l) => {
        for (const t of ["key", "value"]) {
          io.push(bytesField(GRAPH.input, valueInfo(`past_key_values.${l}.${t}`, DTYPE.float, [1, h, "past", 4])));
          io.push(bytesField(GRAPH.output, valueInfo(`present.${l}.${t}`, DTYPE.float, [1, h, "total", 4])));
          g.node("Identity", [`past_key_values.${l}.${t}`], [`present.${l}.${t}`]);
        }
      });
      const graph = concat([...g.nodes, stringField(2, "kv"), ...(reversed ? io.reverse() : io)]);
      return concat([varintField(1, 8), bytesField(MODEL.graph, graph), bytesField(MODEL.opsetImport, concat([stringField(1, ""), varintField(2, 14)]))]);
    };
    const outputsOf = (bytes: Uint8Array) => readGraphIo(appendOnlyKv(bytes).bytes).outputs.map((o) => o.name);
    expect(outputsOf(graphWith([2, 2]))).toContain(PACKED_PRESENT);
    expect(outputsOf(graphWith([2, 3]))).not.toContain(PACKED_PRESENT);
    expect(outputsOf(graphWith([2, 3]))).toContain("present.1.value");
    // Packed in layer order, key before value, whatever order the graph lists its inputs in.
    const packedFrom = (bytes: Uint8Array) => graphNodes(parseFields(parseFields(appendOnlyKv(bytes).bytes).find((f) => f.no === MODEL.graph)!.body)).find((n) => n.outputs.includes(PACKED_PRESENT))!.inputs;
    const inOrder = ["present.0.key", "present.0.value", "present.1.key", "present.1.value"];
    expect(packedFrom(graphWith([2, 2], true))).toEqual(inOrder);
    expect(packedFrom(graphWith([2, 2]))).toEqual(inOrder);
  });

  test("a graph without past inputs is left alone, with the reason", () => {
    const r = appendOnlyKv(new Uint8Array(0));
    expect(r.rewritten).toBe(false);
    expect(r.reason).toMatch(/no graph|no past/);
  });

  test("logits equal the unrewritten graph's, bit for bit, through prefill, steps and a rollback", async () => {
    const loaded = await referenceModel("fp32");
    const { numLayers: L, numKvHeads: H, headDim: D } = loaded.lm.spec;
    // The loader's other rewrites change the arithmetic's grouping (grouped-attention.ts): this
    // compares the KV rewrite alone.
    const appendOnly = await ort.InferenceSession.create(appendOnlyKv(await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`)).bytes, { executionProviders: ["wasm"] });
    const m = { ...loaded, lm: new CausalLM(ort as never, appendOnly, loaded.lm.spec, { ...loaded.lm.info, inputNames: appendOnly.inputNames }) };
    // The original export, run head-major with the whole cache fed back, as exported.
    const session = await ort.InferenceSession.create(await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`), { executionProviders: ["wasm"] });
    let kv: Record<string, ort.Tensor> = {};
    for (let l = 0; l < L; l++) for (const t of ["key", "value"]) kv[`past_key_values.${l}.${t}`] = new ort.Tensor("float32", new Float32Array(0), [1, H, 0, D]);
    let past = 0;
    const plainStep = async (ids: number[]) => {
      const total = past + ids.length;
      const out = await session.run({
        ...kv,
        input_ids: new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
        attention_mask: new ort.Tensor("int64", new BigInt64Array(total).fill(1n), [1, total]),
        position_ids: new ort.Tensor("int64", BigInt64Array.from(ids.map((_, i) => BigInt(past + i))), [1, ids.length]),
      });
      kv = {};
      for (let l = 0; l < L; l++) for (const t of ["key", "value"]) kv[`past_key_values.${l}.${t}`] = out[`present.${l}.${t}`]!;
      past = total;
      return out.logits!.data as Float32Array;
    };
    const ids = m.tokenizer.encode("def read_config(path):\n    with open(path) as f:\n", true);
    const cache = m.lm.newCache();
    const same = (a: Float32Array, b: Float32Array) => {
      expect(a.length).toBe(b.length);
      let diff = 0;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
      expect(diff).toBe(0);
    };
    same(await m.lm.forward(ids, ids.map((_, i) => i), cache), await plainStep(ids));
    for (const t of [17, 401, 9]) {
      const p = cache.length;
      same(await m.lm.forward([t], [p], cache), await plainStep([t]));
    }
    // A rejected draft: feed 3 tokens, keep none of them, continue.
    const p = cache.length;
    await m.lm.forward([5, 6, 7], [p, p + 1, p + 2], cache);
    cache.truncate(p);
    same(await m.lm.forward([33], [p], cache), await plainStep([33]));
    expect(cache.length).toBe(past);
    await session.release();
    await appendOnly.release();
  });
});
