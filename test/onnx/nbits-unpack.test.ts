/**
 * 4-bit MatMulNBits weights unpacked to float32 at load on WASM (src/onnx/nbits-unpack.ts): every
 * node of the shipped q4 export becomes a MatMul over one external float32 blob and the packed
 * tensors leave the graph; the logits are the packed kernel's within float32 GEMM rounding, for
 * symmetric blocks, zero points with a bias, float16 activations (q4f16), and single nodes with a
 * short last block and an odd block count; greedy output and
 * every drafter are lossless on the unpacked model; what the rewrite does not unpack (a float16
 * bias, over the size cap) keeps its packed weights, with the reason; the loader says what it did.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunHost } from "../../adapters/bun/host.ts";
import { generatePlain } from "../../src/decode/plain.ts";
import { buildDrafter, DRAFTER_NAMES } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/speculative.ts";
import { type LoadedModel, loadModel } from "../../src/model/load.ts";
import { readGraphIo } from "../../src/onnx/graph-io.ts";
import { graphInput, graphNodes, valueInfo } from "../../src/onnx/graph-nodes.ts";
import { UNPACKED_WEIGHTS, unpackNBitsWeights } from "../../src/onnx/nbits-unpack.ts";
import { bytesField, concat, parseFields, stringField, text, varintField } from "../../src/onnx/protobuf.ts";
import * as ort from "onnxruntime-web";
import { DTYPE, GRAPH, initializerField, intAttr, MODEL, NODE, nodeField, TENSOR } from "../../src/onnx/schema.ts";
import { toFloat16, toMatMulNBits } from "../helpers/graph-surgery.ts";
import { MODEL_DIR, withDraftAssets } from "../helpers/model.ts";

const Q4 = await bunHost.readFile(`${MODEL_DIR}/onnx/model_q4.onnx`);
const FP32 = await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const nodesOf = (model: Uint8Array) => graphNodes(parseFields(parseFields(model).find((f) => f.no === MODEL.graph)!.body));
const none = () => undefined;
function initializerNames(model: Uint8Array): Set<string> {
  const graph = parseFields(parseFields(model).find((f) => f.no === MODEL.graph)!.body);
  return new Set(graph.filter((f) => f.no === GRAPH.initializer).map((f) => text(parseFields(f.body).find((x) => x.no === TENSOR.name)!.body)));
}

/** A copy of the reference model folder whose q4 file is `graph`. */
function q4Dir(graph: Uint8Array, dtype: "q4" | "q4f16"): string {
  const dir = mkdtempSync(join(tmpdir(), "edgespec-q4-"));
  dirs.push(dir);
  cpSync(MODEL_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
  writeFileSync(join(dir, "onnx", `model_${dtype}.onnx`), graph);
  return dir;
}

/** Largest |a - b|. */
function worst(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!));
  return w;
}

/** Logits of a prompt and two steps on both models; the largest difference. */
async function logitsGap(a: LoadedModel, b: LoadedModel): Promise<number> {
  const [ca, cb] = [a.lm.newCache(), b.lm.newCache()];
  const ids = [1, ...Array.from({ length: 23 }, (_, i) => (i * 41 + 5) % a.lm.spec.vocabSize)];
  const gaps = [worst(await a.lm.forward(ids, ids.map((_, i) => i), ca), await b.lm.forward(ids, ids.map((_, i) => i), cb))];
  for (const t of [7, 300]) gaps.push(worst(await a.lm.forward([t], [ca.length], ca), await b.lm.forward([t], [cb.length], cb)));
  return Math.max(...gaps);
}

describe("4-bit weights unpacked to float32 on WASM", () => {
  test("the shipped q4 export: every MatMulNBits is a MatMul over the unpacked blob; the packed tensors are gone", () => {
    const before = nodesOf(Q4).filter((n) => n.op === "MatMulNBits");
    const r = unpackNBitsWeights(Q4, none);
    expect(r.rewritten).toBe(before.length);
    expect(r.reason).toBeUndefined();
    const after = nodesOf(r.bytes);
    expect(after.filter((n) => n.op === "MatMulNBits").length).toBe(0);
    expect(r.data.length).toBe(before.reduce((s, n) => s + 4 * n.ints.get("K")! * n.ints.get("N")!, 0));
    // No packed tensor is left in the graph to be copied in; the MatMuls read the blob.
    const names = initializerNames(r.bytes);
    expect(before.flatMap((n) => n.inputs.slice(1, 4)).filter((x) => names.has(x))).toEqual([]);
    for (const n of after.filter((m) => m.op === "MatMul" && m.inputs[1]!.endsWith("_edgespec_fp32"))) expect(names.has(n.inputs[1]!)).toBe(true);
    expect(after.filter((m) => m.op === "MatMul" && m.inputs[1]!.endsWith("_edgespec_fp32")).length).toBe(before.length);
    expect(new TextDecoder().decode(r.bytes).includes(UNPACKED_WEIGHTS)).toBe(true);
    expect(readGraphIo(r.bytes).inputs).toEqual(readGraphIo(Q4).inputs);
    expect(readGraphIo(r.bytes).outputs).toEqual(readGraphIo(Q4).outputs);
  });

  // float16 activations (q4f16): the bound allows two float16 ulps at the logits' size.
  for (const [name, graph, dtype, bound] of [
    ["the shipped q4 export (symmetric blocks)", Q4, "q4", 1e-4],
    ["zero points and a bias on every node", toMatMulNBits(FP32, 32, { zeroPoints: true, bias: true }), "q4", 1e-4],
    ["q4f16 (float16 scales and activations), zero points", toFloat16(toMatMulNBits(FP32, 32, { zeroPoints: true })), "q4f16", 2 / 128],
  ] as const) {
    test(`${name}: logits are the packed kernel's; greedy output equal; every drafter lossless`, async () => {
      const dir = q4Dir(graph, dtype);
      const unpacked = await withDraftAssets(await loadModel(bunHost, dir, { dtype, device: "wasm" }));
      const packed = await loadModel(bunHost, dir, { dtype, device: "wasm", unpackWeights: false });
      expect(unpacked.lm.info.unpackedWeights?.layers).toBe(nodesOf(graph).filter((n) => n.op === "MatMulNBits").length);
      expect(packed.lm.info.unpackedWeights).toEqual({ layers: 0, bytes: 0, kept: "asked for: --packed-weights, unpackWeights: false" });
      expect(await logitsGap(unpacked, packed)).toBeLessThan(bound);
      const greedy = { maxTokens: 32, stopAtEos: false };
      for (const prompt of ["def parse_args(argv):\n", "a = [1, 2, 3]\nb = [1, 2, 3]\nc = ["]) {
        const want = (await generatePlain(packed, prompt, greedy)).tokens;
        expect((await generatePlain(unpacked, prompt, greedy)).tokens).toEqual(want);
        for (const drafter of DRAFTER_NAMES.filter((d) => d !== "none")) {
          const r = await generate(unpacked, prompt, { ...greedy, drafter: buildDrafter(unpacked, { name: drafter })! });
          expect({ drafter, tokens: r.tokens }).toEqual({ drafter, tokens: want });
        }
      }
      await unpacked.lm.dispose();
      await packed.lm.dispose();
    });
  }

  test("a last block shorter than the others and an odd block count (zero points padded to a byte): the kernel's product", async () => {
    for (const [K, N, block, zeros] of [[80, 8, 32, true], [80, 8, 32, false], [40, 6, 16, true]] as const) {
      const blocks = Math.ceil(K / block);
      let seed = K * 31 + N;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const b = Uint8Array.from({ length: N * blocks * (block / 2) }, () => Math.floor(rand() * 256));
      const scales = Float32Array.from({ length: N * blocks }, () => 0.01 + rand() / 10);
      const zp = Uint8Array.from({ length: N * Math.ceil(blocks / 2) }, () => Math.floor(rand() * 256));
      const inits = [initializerField("b", DTYPE.uint8, b, [N, blocks, block / 2]), initializerField("s", DTYPE.float, new Uint8Array(scales.buffer), [N * blocks]), ...(zeros ? [initializerField("z", DTYPE.uint8, zp, [zp.length])] : [])];
      const node = parseFields(nodeField("MatMulNBits", ["a", "b", "s", ...(zeros ? ["z"] : [])], ["y"], "mm", [intAttr("K", K), intAttr("N", N), intAttr("bits", 4), intAttr("block_size", block)]))[0]!;
      const graph = concat([bytesField(GRAPH.node, concat([node.body, stringField(NODE.domain, "com.microsoft")])), stringField(2, "g"), ...inits, graphInput("a", DTYPE.float, [2, K]), bytesField(GRAPH.output, valueInfo("y", DTYPE.float, [2, N]))]);
      const model = concat([varintField(1, 8), bytesField(MODEL.graph, graph), bytesField(MODEL.opsetImport, concat([stringField(1, ""), varintField(2, 17)])), bytesField(MODEL.opsetImport, concat([stringField(1, "com.microsoft"), varintField(2, 1)]))]);
      const r = unpackNBitsWeights(model, none);
      expect(r.rewritten).toBe(1);
      const a = new ort.Tensor("float32", Float32Array.from({ length: 2 * K }, () => rand() - 0.5), [2, K]);
      const packed = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
      const unpacked = await ort.InferenceSession.create(r.bytes, { executionProviders: ["wasm"], externalData: [{ path: UNPACKED_WEIGHTS, data: r.data }] });
      const [want, got] = [(await packed.run({ a })).y!.data as Float32Array, (await unpacked.run({ a })).y!.data as Float32Array];
      expect(worst(got, want)).toBeLessThan(1e-5);
      expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(0.01);
    }
  });

  test("what is not unpacked keeps its packed weights, with the reason", () => {
    // A float16 bias (q4f16): where the kernel rounds it is not written out.
    const half = toFloat16(toMatMulNBits(FP32, 32, { bias: true }));
    expect(unpackNBitsWeights(half, none)).toMatchObject({ bytes: half, rewritten: 0, reason: "a float16 bias" });
    // Over the cap.
    const capped = unpackNBitsWeights(Q4, none, 2 ** 20);
    expect(capped.rewritten).toBe(0);
    expect(capped.bytes).toBe(Q4);
    expect(capped.reason).toMatch(/^unpacked they would take 22 MiB, over the 1 MiB allowed$/);
    // A graph without MatMulNBits is left as it is.
    expect(unpackNBitsWeights(FP32, none)).toEqual({ bytes: FP32, rewritten: 0, data: new Uint8Array(0) });
  });

  test("the loader: an fp32 model has nothing to unpack", async () => {
    const fp32 = await loadModel(bunHost, MODEL_DIR, { dtype: "fp32", device: "wasm" });
    expect(fp32.lm.info.unpackedWeights).toBeUndefined();
    await fp32.lm.dispose();
  });
});
