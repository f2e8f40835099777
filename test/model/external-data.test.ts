/**
 * Models too big for one protobuf keep their weights in `model.onnx_data` (Optimum's layout). The
 * fixture is made here from the reference model: every initializer's bytes move to the data file.
 */
import { afterAll, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunHost } from "../../adapters/bun/host.ts";
import { loadModel } from "../../src/model/load.ts";
import { bytesField, concat, parseFields, stringField, varintField } from "../../src/onnx/protobuf.ts";
import { MODEL_DIR, referenceModel } from "../helpers/model.ts";

const GRAPH = 7;
const INITIALIZER = 5;
const TENSOR = { rawData: 9, externalData: 13, dataLocation: 14 } as const;

/** Splits an ONNX model into a graph that points at external data, and that data. */
function toExternalData(model: Uint8Array, location: string): { graph: Uint8Array; data: Uint8Array } {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const entry = (k: string, v: string) => bytesField(TENSOR.externalData, concat([stringField(1, k), stringField(2, v)]));
  const fields = parseFields(model).map((f) => {
    if (f.no !== GRAPH) return f.raw;
    const graph = parseFields(f.body).map((g) => {
      if (g.no !== INITIALIZER) return g.raw;
      const tensor = parseFields(g.body);
      const raw = tensor.find((t) => t.no === TENSOR.rawData);
      if (!raw || raw.body.length < 1024) return g.raw;
      chunks.push(raw.body);
      const moved = concat([...tensor.filter((t) => t !== raw).map((t) => t.raw), entry("location", location), entry("offset", String(offset)), entry("length", String(raw.body.length)), varintField(TENSOR.dataLocation, 1)]);
      offset += raw.body.length;
      return bytesField(INITIALIZER, moved);
    });
    return bytesField(GRAPH, concat(graph));
  });
  return { graph: concat(fields), data: concat(chunks) };
}

const tmp = mkdtempSync(join(tmpdir(), "edgespec-extdata-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test("a model with .onnx_data external weights loads and computes what the single file computes", async () => {
  cpSync(MODEL_DIR, tmp, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
  const { graph, data } = toExternalData(await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`), "model.onnx_data");
  expect(graph.length).toBeLessThan(200_000); // the graph alone is small: the rewrite touches only it
  writeFileSync(join(tmp, "onnx", "model.onnx"), graph);
  writeFileSync(join(tmp, "onnx", "model.onnx_data"), data);
  const ext = await loadModel(bunHost, tmp, { dtype: "fp32", device: "wasm" });
  expect(ext.lm.info.treeAttention.enabled).toBe(true);
  const ref = await referenceModel("fp32");
  const ids = [1, 300, 301, 302, 303];
  const a = await ext.lm.forward(ids, ids.map((_, i) => i), ext.lm.newCache());
  const b = await ref.lm.forward(ids, ids.map((_, i) => i), ref.lm.newCache());
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst).toBeLessThan(1e-6);
  await ext.lm.dispose();
});
