/**
 * The vocabulary projection over the rows asked for (src/onnx/logits-rows.ts): the rewrite puts a
 * Gather of the fed rows in front of the lm_head MatMul of both shipped models; any row projected
 * alone, or with others in any order, has the logits it has when every row is projected, bit for
 * bit; a prefill without candidates computes and reads back its last row only; graphs whose
 * logits are trimmed already, or not made by a MatMul, are left alone.
 */
import { describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-web";
import { bunHost } from "../../adapters/bun/host.ts";
import { readModelSpec } from "../../src/model/config.ts";
import { readGraphIo } from "../../src/onnx/graph-io.ts";
import { graphInput, graphNodes } from "../../src/onnx/graph-nodes.ts";
import { addLogitsRows, LOGITS_ROWS } from "../../src/onnx/logits-rows.ts";
import { parseFields, withGraphBody } from "../../src/onnx/protobuf.ts";
import { DTYPE, MODEL } from "../../src/onnx/schema.ts";
import { withLogitsToKeep } from "../helpers/graph-surgery.ts";
import { referenceModel, REPO } from "../helpers/model.ts";

const MODELS = ["edgespec-tiny", "edgespec-small"];

const nodesOf = (model: Uint8Array) => graphNodes(parseFields(parseFields(model).find((f) => f.no === MODEL.graph)!.body));
const i64 = (values: number[], dims = [values.length]) => new ort.Tensor("int64", BigInt64Array.from(values, BigInt), dims);

describe("logits over the rows asked for", () => {
  for (const model of MODELS) {
    test(`${model}: a Gather of the asked rows feeds the lm_head; each row's logits are the same alone as among all`, async () => {
      const dir = `${REPO}models/${model}`;
      const spec = readModelSpec(JSON.parse(new TextDecoder().decode(await bunHost.readFile(`${dir}/config.json`))), {});
      const original = await bunHost.readFile(`${dir}/onnx/model.onnx`);
      const r = addLogitsRows(original);
      expect(r.added).toBe(true);
      const io = readGraphIo(r.bytes);
      expect(io.inputs.map((i) => i.name)).toEqual([...readGraphIo(original).inputs.map((i) => i.name), LOGITS_ROWS]);
      const head = nodesOf(r.bytes).find((n) => n.outputs.includes("logits"))!;
      expect(head.op).toBe("MatMul");
      const gather = nodesOf(r.bytes).find((n) => n.outputs.includes(head.inputs[0]!))!;
      expect([gather.op, gather.inputs[1], gather.ints.get("axis")]).toEqual(["Gather", LOGITS_ROWS, 1]);
      expect(io.outputs.find((o) => o.name === "logits")!.dims![1]).toBe("logits_rows");
      expect(addLogitsRows(r.bytes)).toEqual({ bytes: r.bytes, added: false });

      // The export's own cache I/O, empty past: 12 tokens, projected all at once, then in pieces.
      const session = await ort.InferenceSession.create(r.bytes, { executionProviders: ["wasm"] });
      const S = 12;
      const V = spec.vocabSize;
      const feeds = (rows: number[]) => {
        const f: Record<string, ort.Tensor> = {
          input_ids: i64(Array.from({ length: S }, (_, i) => (i * 97 + 5) % V), [1, S]),
          attention_mask: i64(Array(S).fill(1), [1, S]),
          position_ids: i64(Array.from({ length: S }, (_, i) => i), [1, S]),
          [LOGITS_ROWS]: i64(rows),
        };
        for (const name of session.inputNames.filter((n) => n.startsWith("past_key_values."))) {
          f[name] = new ort.Tensor("float32", new Float32Array(0), [1, spec.numKvHeads, 0, spec.headDim]);
        }
        return f;
      };
      const logitsOf = async (rows: number[]) => {
        const out = await session.run(feeds(rows), ["logits"]);
        expect(out.logits!.dims).toEqual([1, rows.length, V]);
        return out.logits!.data as Float32Array;
      };
      const all = await logitsOf(Array.from({ length: S }, (_, i) => i));
      const row = (j: number) => Array.from(all.subarray(j * V, (j + 1) * V));
      let differ = 0;
      const same = (got: Float32Array, rows: number[]) => rows.forEach((j, i) => row(j).forEach((x, v) => x !== got[i * V + v] && differ++));
      for (const rows of [[S - 1], [0], [7, 2, 9], [S - 1, 0]]) same(await logitsOf(rows), rows);
      expect(differ).toBe(0);
      await session.release();
    });
  }

  test("a prefill without candidates reads back the last row only, and the same row", async () => {
    const { lm } = await referenceModel();
    expect(lm.info.inputNames).toContain(LOGITS_ROWS);
    const ids = Array.from({ length: 200 }, (_, i) => (i * 31 + 7) % lm.spec.vocabSize);
    const pos = ids.map((_, i) => i);
    const readBack = async (k: number) => {
      const before = lm.readBackBytes!;
      const r = await lm.forwardLast!(ids, pos, lm.newCache(), k);
      return { r, bytes: lm.readBackBytes! - before };
    };
    const withK = await readBack(8);
    const without = await readBack(0);
    expect(Array.from(without.r.last)).toEqual(Array.from(withK.r.last));
    // The top-k ids of 200 rows (8 int64 each) are not read back, only one row's.
    expect(withK.bytes - without.bytes).toBe(199 * 8 * 8);
  });

  test("graphs that trim their logits already, or do not make them with a MatMul, are left alone", async () => {
    const original = await bunHost.readFile(`${REPO}models/edgespec-tiny/onnx/model.onnx`);
    // An export that trims its hidden states before the lm_head (transformers' `num_logits_to_keep`):
    // its MatMul still makes the logits, but causal-lm.ts feeds the count instead.
    const model = parseFields(original);
    const graphField = model.find((f) => f.no === MODEL.graph)!;
    const keeps = withGraphBody(model, graphField, [...parseFields(graphField.body).map((f) => f.raw), graphInput("num_logits_to_keep", DTYPE.int64, [])]);
    expect(addLogitsRows(keeps)).toEqual({ bytes: keeps, added: false });
    // logits out of a Slice, not a MatMul.
    const sliced = withLogitsToKeep(original, "keep_rows");
    expect(addLogitsRows(sliced)).toEqual({ bytes: sliced, added: false });
    expect(addLogitsRows(original, { logitsName: "no_such_output" }).added).toBe(false);
    expect(addLogitsRows(new Uint8Array(0))).toEqual({ bytes: new Uint8Array(0), added: false });
  });
});
