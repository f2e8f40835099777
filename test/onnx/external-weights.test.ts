/**
 * Weights moved out of the graph at load (src/onnx/external-weights.ts): every large inline
 * initializer becomes a reference to exactly its bytes in the file, the rest of the graph is kept
 * byte for byte, and a session made from the small graph plus the file's bytes computes the same
 * logits, bit for bit, as one made from the file.
 */
import { describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-web";
import { bunHost } from "../../adapters/bun/host.ts";
import { EMBEDDED_WEIGHTS, externalizeWeights } from "../../src/onnx/external-weights.ts";
import { type Field, parseFields } from "../../src/onnx/protobuf.ts";
import { ENTRY, GRAPH, MODEL, TENSOR } from "../../src/onnx/schema.ts";
import { REPO } from "../helpers/model.ts";

const graphFields = (model: Uint8Array) => parseFields(parseFields(model).find((f) => f.no === MODEL.graph)!.body);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function externalEntries(tensor: Field[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of tensor.filter((t) => t.no === TENSOR.externalData)) {
    const kv = parseFields(e.body);
    out[text(kv.find((x) => x.no === ENTRY.key)!.body)] = text(kv.find((x) => x.no === ENTRY.value)!.body);
  }
  return out;
}

describe("weights moved out of the graph", () => {
  for (const file of ["edgespec-tiny/onnx/model.onnx", "edgespec-tiny/onnx/model_q4.onnx", "edgespec-small/onnx/model.onnx"]) {
    test(`${file}: each large initializer points at exactly its bytes; everything else is kept`, async () => {
      const bytes = await bunHost.readFile(`${REPO}models/${file}`);
      const { graph, moved } = externalizeWeights(bytes);
      expect(graph.length).toBeLessThan(bytes.length / 20);
      const before = graphFields(bytes);
      const after = graphFields(graph);
      expect(after.length).toBe(before.length);
      let large = 0;
      for (const [i, f] of before.entries()) {
        const g = after[i]!;
        expect(g.no).toBe(f.no);
        const raw = f.no === GRAPH.initializer ? parseFields(f.body).find((t) => t.no === TENSOR.rawData) : undefined;
        if (!raw || raw.body.length < 1024) {
          expect(g.raw).toEqual(f.raw);
          continue;
        }
        large++;
        const tensor = parseFields(g.body);
        expect(tensor.some((t) => t.no === TENSOR.rawData)).toBe(false);
        expect(tensor.find((t) => t.no === TENSOR.dataLocation)!.value).toBe(1);
        const e = externalEntries(tensor);
        expect(e.location).toBe(EMBEDDED_WEIGHTS);
        expect(bytes.subarray(Number(e.offset), Number(e.offset) + Number(e.length))).toEqual(raw.body);
        // Name, dims and type as they were.
        expect(tensor.filter((t) => t.no !== TENSOR.externalData && t.no !== TENSOR.dataLocation).map((t) => t.raw)).toEqual(parseFields(f.body).filter((t) => t.no !== TENSOR.rawData).map((t) => t.raw));
      }
      expect(moved).toBe(large);
      expect(large).toBeGreaterThan(10);
      // Once moved, nothing is left to move.
      expect(externalizeWeights(graph)).toEqual({ graph, moved: 0 });
    });
  }

  test("offsets count from the model's first byte, also when it lies inside a larger buffer", async () => {
    const file = await bunHost.readFile(`${REPO}models/edgespec-tiny/onnx/model_q4.onnx`);
    const padded = new Uint8Array(file.length + 4096);
    padded.set(file, 4096);
    const inner = padded.subarray(4096);
    const { graph, moved } = externalizeWeights(inner);
    expect(moved).toBeGreaterThan(10);
    const tensors = graphFields(graph).filter((f) => f.no === GRAPH.initializer).map((f) => parseFields(f.body));
    const originals = graphFields(file).filter((f) => f.no === GRAPH.initializer).map((f) => parseFields(f.body).find((t) => t.no === TENSOR.rawData));
    let checked = 0;
    tensors.forEach((t, i) => {
      const e = externalEntries(t);
      if (!e.location) return;
      expect(originals[i]!.body).toEqual(inner.subarray(Number(e.offset), Number(e.offset) + Number(e.length)));
      checked++;
    });
    expect(checked).toBe(moved);
  });

  test("a session from the moved weights computes the file's logits bit for bit", async () => {
    const bytes = await bunHost.readFile(`${REPO}models/edgespec-tiny/onnx/model.onnx`);
    const inline = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    const { graph } = externalizeWeights(bytes);
    const external = await ort.InferenceSession.create(graph, { executionProviders: ["wasm"], externalData: [{ path: EMBEDDED_WEIGHTS, data: bytes }] });
    const n = 7;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 131 + 7) % 4096)), [1, n]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(n).fill(1n), [1, n]),
      position_ids: new ort.Tensor("int64", BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), [1, n]),
    };
    for (const name of inline.inputNames.filter((x) => x.startsWith("past_key_values"))) feeds[name] = new ort.Tensor("float32", new Float32Array(0), [1, 4, 0, 32]);
    const [a, b] = [await inline.run(feeds), await external.run(feeds)];
    expect(Array.from(b.logits!.data as Float32Array)).toEqual(Array.from(a.logits!.data as Float32Array));
    await inline.release();
    await external.release();
  });
});
