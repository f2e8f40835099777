/**
 * Export layouts other than edgespec's own, made from the reference model by graph surgery
 * (test/helpers/graph-surgery.ts): each loads, computes what the reference computes, and decodes
 * losslessly with speculation, in tree mode where its layout allows it and in chain mode, saying
 * why, where it does not.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { bunHost } from "../../adapters/bun/host.ts";
import { generatePlain } from "../../src/decode/plain.ts";
import { generate } from "../../src/engine/speculative.ts";
import { EdgespecError } from "../../src/errors.ts";
import { type LoadedModel, loadModel } from "../../src/model/load.ts";
import { Rng } from "../../src/decode/rng.ts";
import { compareTreeRows } from "../helpers/tree-rows.ts";
import { toExternalData, toFloat16, withDeclaredKvDims, withLogitsToKeep, withoutPositionIds, withSoftmaxCasts, withWhereMask } from "../helpers/graph-surgery.ts";
import { BIN, MODEL_DIR, referenceModel, run } from "../helpers/model.ts";
import { RandomTreeDrafter, ScriptedDrafter } from "../helpers/test-drafters.ts";

const ORIGINAL = await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A model directory like the reference one, with `files` (under onnx/) instead of its graphs. */
function modelDir(files: Record<string, Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), "edgespec-layout-"));
  dirs.push(dir);
  cpSync(MODEL_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, "onnx", name), bytes);
  return dir;
}

async function worstLogitDiff(m: LoadedModel, ids: number[]): Promise<number> {
  const ref = await referenceModel("fp32");
  const a = await m.lm.forward(ids, ids.map((_, i) => i), m.lm.newCache());
  const b = await ref.lm.forward(ids, ids.map((_, i) => i), ref.lm.newCache());
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

const PROMPTS = ["def parse_args(argv):\n    parser = argparse.ArgumentParser()\n", "a = [1, 2, 3]\nb = [1, 2, 3]\nc = ["];
const IDS = [1, 300, 301, 302, 303, 304];
/**
 * fp16 tree rows against their paths' plain rows on WASM: measured worst |diff| 0 (33 rows, 0
 * argmax flips; the CPU kernels accumulate in float32). The bound allows two float16 ulps at the
 * logits' magnitude (|logit| < 16), for other kernels.
 */
const FP16_TREE_BOUND = 2 / 128;

/** Plain greedy equals `ref`'s (default the fp32 reference); random trees (or chains) reproduce it token for token. */
async function expectLossless(m: LoadedModel, reference?: LoadedModel): Promise<{ accepted: number; treeAttention: boolean }> {
  const ref = reference ?? (await referenceModel("fp32"));
  let accepted = 0;
  let treeAttention = true;
  for (const [i, prompt] of PROMPTS.entries()) {
    const want = await generatePlain(ref, prompt, { maxTokens: 24, stopAtEos: false });
    const plain = await generatePlain(m, prompt, { maxTokens: 24, stopAtEos: false });
    expect(plain.tokens).toEqual(want.tokens);
    const spec = await generate(m, prompt, { maxTokens: 24, stopAtEos: false, drafter: new RandomTreeDrafter([...new Set(want.tokens)], i + 1), budget: 12 });
    expect(spec.tokens).toEqual(want.tokens);
    accepted += spec.stats.acceptedTokens;
    treeAttention &&= spec.stats.treeAttention;
  }
  return { accepted, treeAttention };
}

describe("positions derived from attention_mask (no position_ids input)", () => {
  test("loads without tree attention, says why, and stays lossless in chain mode", async () => {
    const notes: string[] = [];
    const m = await loadModel(bunHost, modelDir({ "model.onnx": withoutPositionIds(ORIGINAL) }), { dtype: "fp32", device: "wasm", onProgress: (s) => notes.push(s) });
    expect(m.lm.info.layout.positions).toBe("from-mask");
    expect(m.lm.info.treeAttention.enabled).toBe(false);
    expect(m.lm.info.treeAttention.reason).toContain("no position_ids input");
    expect(notes.some((n) => n.includes("tree attention unavailable") && n.includes("position_ids"))).toBe(true);
    expect(await worstLogitDiff(m, IDS)).toBeLessThan(1e-5);
    const r = await expectLossless(m);
    expect(r.treeAttention).toBe(false);
    // Chains are verified and accepted: an oracle's chain through the same graph.
    const want = await generatePlain(m, PROMPTS[0]!, { maxTokens: 24, stopAtEos: false });
    const oracle = await generate(m, PROMPTS[0]!, { maxTokens: 24, stopAtEos: false, drafter: new ScriptedDrafter(want.tokens, m.lm.spec.vocabSize), budget: 8 });
    expect(oracle.tokens).toEqual(want.tokens);
    expect(oracle.stats.acceptedTokens).toBeGreaterThan(15);
    await m.lm.dispose();
  });

  test("a forward at non-consecutive positions (a tree's depths) is refused, never computed wrong", async () => {
    const m = await loadModel(bunHost, modelDir({ "model.onnx": withoutPositionIds(ORIGINAL) }), { dtype: "fp32", device: "wasm" });
    const cache = m.lm.newCache();
    await m.lm.forward([1, 300, 301], [0, 1, 2], cache);
    const err = await m.lm.forward([302, 303], [3, 3], cache).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgespecError);
    expect((err as EdgespecError).code).toBe("invalid_argument");
    expect((err as Error).message).toContain("derives positions from attention_mask");
    await m.lm.dispose();
  });
});

/** A replica that must get tree mode: the reference's logits, lossless, drafts accepted in trees. */
async function expectTreeModeReplica(graph: Uint8Array, check: (m: LoadedModel) => void | Promise<void> = () => {}): Promise<void> {
  const m = await loadModel(bunHost, modelDir({ "model.onnx": graph }), { dtype: "fp32", device: "wasm" });
  await check(m);
  expect(m.lm.info.treeAttention.enabled).toBe(true);
  expect(await worstLogitDiff(m, IDS)).toBeLessThan(1e-5);
  const r = await expectLossless(m);
  expect(r.treeAttention).toBe(true);
  expect(r.accepted).toBeGreaterThan(0);
  await m.lm.dispose();
}

describe("num_logits_to_keep input", () => {
  for (const input of ["num_logits_to_keep", "logits_to_keep"]) {
    test(`${input}: fed with the token count, so every row has logits (1 for a prefill without candidates: the same last row); tree mode, lossless`, () =>
      expectTreeModeReplica(withLogitsToKeep(ORIGINAL, input), async (m) => {
        expect(m.lm.info.layout.logitsToKeep).toBe(input);
        const pos = IDS.map((_, i) => i);
        const all = await m.lm.forward(IDS, pos, m.lm.newCache());
        const last = await m.lm.forwardLast!(IDS, pos, m.lm.newCache(), 0);
        expect(Array.from(last.last)).toEqual(Array.from(all.subarray((IDS.length - 1) * m.lm.spec.vocabSize)));
      }));
  }
});

describe("eager attention with the Softmax between Casts", () => {
  test("gets tree attention on every layer, computes the reference's logits, lossless", () => expectTreeModeReplica(withSoftmaxCasts(ORIGINAL)));
});

describe("the mask applied with Where (masked_fill) instead of an Add", () => {
  test("gets tree attention on every layer, computes the reference's logits, lossless", () => expectTreeModeReplica(withWhereMask(ORIGINAL)));
});

describe("float16 graph at opset 14 (no CastLike), float16 KV cache", () => {
  const dir = modelDir({ "model_fp16.onnx": toFloat16(ORIGINAL) });

  test("loads with tree attention (the bias cast to float16) and a float16 KV cache", async () => {
    const m = await loadModel(bunHost, dir, { dtype: "fp16", device: "wasm" });
    expect(m.lm.info.layout.kvType).toBe("float16");
    expect(m.lm.info.treeAttention.enabled).toBe(true);
    await m.lm.dispose();
  });

  test("every node of random trees gets its path's plain logits; greedy speculation is lossless", async () => {
    const m = await loadModel(bunHost, dir, { dtype: "fp16", device: "wasm" });
    const plainLm = (await loadModel(bunHost, dir, { dtype: "fp16", device: "wasm", treeAttention: false })).lm;
    const prompt = m.tokenizer.encode("def parse(line):\n    key, value = line.split('=')\n", true);
    const { worst, flips, rows } = await compareTreeRows(m.lm, plainLm, prompt, [7, 24], new Rng(2024));
    console.log(`fp16 tree vs plain path logits: worst |diff| ${worst.toExponential(2)}, argmax flips ${flips} of ${rows} rows`);
    expect(worst).toBeLessThanOrEqual(FP16_TREE_BOUND);
    expect(flips).toBe(0);
    const r = await expectLossless(m, m);
    expect(r.treeAttention).toBe(true);
    expect(r.accepted).toBeGreaterThan(0);
    await m.lm.dispose();
    await plainLm.dispose();
  });
});

describe("external data named by the graph", () => {
  const cases: [string, string[]][] = [
    ["onnxruntime-genai's model.onnx.data", ["model.onnx.data"]],
    ["Optimum's model.onnx_data", ["model.onnx_data"]],
    ["chunked model.onnx_data, _data_1, _data_2", ["model.onnx_data", "model.onnx_data_1", "model.onnx_data_2"]],
    ["any other name", ["weights.bin"]],
  ];
  for (const [name, files] of cases) {
    test(`${name}: found from the graph's external_data entries, same logits`, async () => {
      const { graph, data } = toExternalData(ORIGINAL, files);
      expect(graph.length).toBeLessThan(200_000);
      const m = await loadModel(bunHost, modelDir({ "model.onnx": graph, ...Object.fromEntries(data) }), { dtype: "fp32", device: "wasm" });
      expect(m.lm.info.layout.externalFiles).toEqual(files);
      expect(m.lm.info.treeAttention.enabled).toBe(true);
      expect(await worstLogitDiff(m, IDS)).toBeLessThan(1e-6);
      await m.lm.dispose();
    });
  }

  test("a data file the graph names but the folder lacks: one clear error naming it", async () => {
    const { graph, data } = toExternalData(ORIGINAL, ["model.onnx_data", "model.onnx_data_1"]);
    const dir = modelDir({ "model.onnx": graph, "model.onnx_data": data.get("model.onnx_data")! });
    const err = await loadModel(bunHost, dir, { dtype: "fp32", device: "wasm" }).catch((e: unknown) => e);
    expect((err as EdgespecError).code).toBe("model_file_missing");
    expect((err as Error).message).toContain('external data file "model.onnx_data_1"');
  });
});

describe("config.json checked against the graph at load", () => {
  const cases: [string, Record<string, number>, string][] = [
    ["KV heads", { num_key_value_heads: 8 }, "KV heads (num_key_value_heads): config.json says 8, the graph has 4"],
    ["head dim", { head_dim: 64 }, "head dim (head_dim): config.json says 64, the graph has 32"],
    ["vocabulary", { vocab_size: 5000 }, "vocabulary (vocab_size): config.json says 5000, the graph has 4096"],
    ["layers", { num_hidden_layers: 7 }, "layers (num_hidden_layers): config.json says 7, the graph has 6"],
  ];
  for (const [what, change, message] of cases) {
    test(`${what}: a mismatch is one line naming both values`, async () => {
      const dir = modelDir({ "model.onnx": ORIGINAL });
      const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
      writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, ...change }));
      const err = await loadModel(bunHost, dir, { dtype: "fp32", device: "wasm" }).catch((e: unknown) => e);
      expect((err as EdgespecError).code).toBe("model_invalid");
      expect((err as Error).message).toBe(`config.json and model.onnx disagree on ${message}`);
    });
  }

  test("a KV cache declared [batch, sequence, heads, head dim] (BSNH) is refused in one line before ORT sees it", async () => {
    const dir = modelDir({ "model.onnx": withDeclaredKvDims(ORIGINAL, ["batch_size", "past_sequence_length", 4, 32]) });
    const err = await loadModel(bunHost, dir, { dtype: "fp32", device: "wasm" }).catch((e: unknown) => e);
    expect((err as EdgespecError).code).toBe("model_invalid");
    expect((err as Error).message).toBe("model.onnx keeps its KV cache as [batch, sequence, heads, head dim]; edgespec supports [batch, heads, sequence, head dim] (re-export without BSNH past/present)");
  });

  test("the CLI says it in one line and exits non-zero", async () => {
    const dir = modelDir({ "model.onnx": ORIGINAL });
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, num_key_value_heads: 2 }));
    const r = await run([...BIN.bun, "generate", "--model", dir, "--prompt", "x", "--device", "wasm"]);
    expect(r.code).toBe(1);
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("edgespec: error:"));
    expect(errors).toEqual(["edgespec: error: config.json and model.onnx disagree on KV heads (num_key_value_heads): config.json says 2, the graph has 4"]);
  });
});

describe("edgespec inspect", () => {
  const inspect = async (dir: string) => {
    const r = await run([...BIN.bun, "inspect", "--model", dir, "--device", "wasm", "--json"]);
    if (r.code !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout);
  };

  test("the reference model: its numbers, files, layout and tree verify", async () => {
    const r = await inspect(MODEL_DIR);
    expect(r).toMatchObject({ modelType: "llama", layers: 6, kvHeads: 4, headDim: 32, vocabSize: 4096, kvType: "float32", positions: "input", logitsToKeep: null, logitsRows: "rows-input", externalData: [], exact: true });
    expect(r.files).toEqual({ fp32: "model.onnx", q8: "model_quantized.onnx", q4: "model_q4.onnx" });
    expect(r.treeVerify).toEqual({ available: true, reason: null });
    // The threads it loaded with: by default the cores, at most 4 (the WASM pool is the process's).
    expect(r.loaded.threads).toBe(Math.min(4, availableParallelism()));
    expect(r.loaded.runs).toBe("c-api");
    const text = await run([...BIN.bun, "inspect", "--model", MODEL_DIR, "--device", "wasm", "--dtype", "q8", "--threads", "1"]);
    expect(text.stdout).toMatch(/^loaded .* on wasm, 1 thread, runs through the runtime's C API, KV cache in JS memory$/m);
    expect(text.stdout).toMatch(/^tree verify {2}yes$/m);
    expect(text.stdout).toMatch(/^exact {8}no: int8 activations/m);
  });

  test("a layout without tree verify says why; external data and logits-to-keep are listed", async () => {
    const { graph, data } = toExternalData(withLogitsToKeep(withoutPositionIds(ORIGINAL)), ["model.onnx.data"]);
    const r = await inspect(modelDir({ "model.onnx": graph, ...Object.fromEntries(data) }));
    expect(r.positions).toBe("from-mask");
    expect(r.logitsToKeep).toBe("num_logits_to_keep");
    expect(r.logitsRows).toBe("keep-count");
    expect(r.externalData).toEqual(["model.onnx.data"]);
    expect(r.treeVerify.available).toBe(false);
    expect(r.treeVerify.reason).toContain("no position_ids input");
  });

  test("a directory that is not a model: one line, exit 1", async () => {
    const r = await run([...BIN.bun, "inspect", "--model", "/nonexistent/model"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("edgespec: error: model directory not found: /nonexistent/model");
  });
});
