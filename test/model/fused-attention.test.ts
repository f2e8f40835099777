/**
 * Fused-attention layouts (com.microsoft GroupQueryAttention, MultiHeadAttention), rebuilt from
 * the reference model's weights (test/helpers/genai-replica.ts): the onnxruntime-genai builder's
 * (no position_ids input, rotary inside the op, packed or separate QKV), the transformers.js-style
 * one (position_ids input, RotaryEmbedding nodes, do_rotary=0) and MultiHeadAttention with
 * RotaryEmbedding. The ground truth is the user's: the original graph without the tree rewrite,
 * decoded plainly by onnxruntime, and the reference model it re-emits. (On WASM both run float32
 * GQA as plain ops; test/onnx/gqa-decompose.test.ts holds those to the fused kernel itself.)
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunHost } from "../../adapters/bun/host.ts";
import { generatePlain } from "../../src/decode/plain.ts";
import { Rng } from "../../src/decode/rng.ts";
import { argmax } from "../../src/decode/sampler.ts";
import { buildDrafter, DRAFTER_NAMES } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/speculative.ts";
import { EdgespecError } from "../../src/errors.ts";
import { type LoadedModel, loadModel } from "../../src/model/load.ts";
import { genaiReplica, MHA_KV_HEADS, type ReplicaOptions } from "../helpers/genai-replica.ts";
import { toExternalData, toFloat16, toMatMulNBits } from "../helpers/graph-surgery.ts";
import { BIN, MODEL_DIR, REPO, referenceModel, run, withDraftAssets } from "../helpers/model.ts";
import { RandomTreeDrafter } from "../helpers/test-drafters.ts";
import { compareTreeRows } from "../helpers/tree-rows.ts";

const REFERENCE = await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const FILE = { fp32: "model.onnx", fp16: "model_fp16.onnx", q4: "model_q4.onnx", q4f16: "model_q4f16.onnx" } as const;
type ReplicaDtype = keyof typeof FILE;
/** fp16: the whole graph in float16; q4: MatMulNBits weights; q4f16: both. */
const CONVERT: Record<ReplicaDtype, (g: Uint8Array) => Uint8Array> = { fp32: (g) => g, fp16: toFloat16, q4: (g) => toMatMulNBits(g), q4f16: (g) => toFloat16(toMatMulNBits(g)) };

function replicaDir(opts: ReplicaOptions, dtype: ReplicaDtype = "fp32"): string {
  const dir = mkdtempSync(join(tmpdir(), "edgespec-gqa-"));
  dirs.push(dir);
  cpSync(MODEL_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
  if (opts.attention === "mha") {
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, num_key_value_heads: MHA_KV_HEADS }));
  }
  writeFileSync(join(dir, "onnx", FILE[dtype]), CONVERT[dtype](genaiReplica(REFERENCE, opts)));
  return dir;
}

/** The rewritten model and the original graph (no rewrite) on the same files. */
async function loadBoth(dir: string, dtype: ReplicaDtype = "fp32"): Promise<{ m: LoadedModel; original: LoadedModel }> {
  const m = await withDraftAssets(await loadModel(bunHost, dir, { dtype, device: "wasm" }));
  const original = await loadModel(bunHost, dir, { dtype, device: "wasm", treeAttention: false });
  return { m, original };
}

const PROMPTS = ["def parse_args(argv):\n    parser = argparse.ArgumentParser()\n", "a = [1, 2, 3]\nb = [1, 2, 3]\nc = ["];
const TOKENS = 24;
const greedy = { maxTokens: TOKENS, stopAtEos: false };

/** Every drafter (and random trees) reproduces the original graph's greedy output, in tree mode. */
async function expectLosslessTrees(m: LoadedModel, original: LoadedModel): Promise<void> {
  let accepted = 0;
  for (const [i, prompt] of PROMPTS.entries()) {
    const want = (await generatePlain(original, prompt, greedy)).tokens;
    expect((await generatePlain(m, prompt, greedy)).tokens).toEqual(want);
    const drafters = [...DRAFTER_NAMES.filter((n) => n !== "none").map((name) => buildDrafter(m, { name })!), new RandomTreeDrafter([...new Set(want)], i + 1)];
    for (const drafter of drafters) {
      const r = await generate(m, prompt, { ...greedy, drafter, budget: 12 });
      expect({ drafter: drafter.name, tokens: r.tokens }).toEqual({ drafter: drafter.name, tokens: want });
      expect(r.stats.verifyMode).toBe("tree");
      accepted += r.stats.acceptedTokens;
    }
  }
  expect(accepted).toBeGreaterThan(0);
}

const LAYOUTS: [string, ReplicaOptions][] = [
  ["onnxruntime-genai builder: packed QKV, do_rotary=1, positions from the mask", { positions: "genai", packedQkv: true }],
  ["onnxruntime-genai builder: separate Q/K/V, do_rotary=1", { positions: "genai", packedQkv: false }],
  ["position_ids input, RotaryEmbedding nodes, do_rotary=0", { positions: "rotary-input", packedQkv: false }],
  ["RotaryEmbedding nodes fed positions from the mask, no position_ids input", { positions: "rotary-from-mask", packedQkv: false }],
  ["MultiHeadAttention (unidirectional), position_ids input, RotaryEmbedding nodes", { positions: "rotary-input", packedQkv: false, attention: "mha" }],
  ["MultiHeadAttention, RotaryEmbedding fed positions from the mask", { positions: "rotary-from-mask", packedQkv: false, attention: "mha" }],
];

describe("fused-attention layouts on WASM", () => {
  for (const [name, opts] of LAYOUTS) {
    test(`${name}: tree mode; plain, tree rows and every drafter equal the original graph`, async () => {
      const { m, original } = await loadBoth(replicaDir(opts));
      expect(m.lm.info.layout.attention).toBe(opts.attention === "mha" ? "MultiHeadAttention" : "GroupQueryAttention");
      expect(m.lm.info.treeAttention).toEqual({ enabled: true });
      // On WASM every float32 GQA layer runs as plain ops (gqa-decompose.ts); MultiHeadAttention keeps its kernel.
      expect(m.lm.info.decomposedAttention).toEqual(opts.attention === "mha" ? undefined : { layers: 6 });
      // Positions: the genai layout gets a position input from the rewrite; the original has none.
      expect(m.lm.info.layout.positions).toBe("input");
      expect(original.lm.info.layout.positions).toBe(opts.positions === "rotary-input" ? "input" : "from-mask");
      // The replica is the reference model re-emitted: same greedy tokens as the reference graph.
      const ref = await referenceModel("fp32");
      expect((await generatePlain(original, PROMPTS[0]!, greedy)).tokens).toEqual((await generatePlain(ref, PROMPTS[0]!, greedy)).tokens);
      const prompt = m.tokenizer.encode(PROMPTS[0]!, true);
      const rows = await compareTreeRows(m.lm, original.lm, prompt, [7, 24], new Rng(7));
      expect(rows.worst).toBeLessThanOrEqual(1e-4);
      expect(rows.flips).toBe(0);
      await expectLosslessTrees(m, original);
      await m.lm.dispose();
      await original.lm.dispose();
    });
  }

  test("int4 genai layout (MatMulNBits weights, as the builder's cpu-int4 folders): dtype q4, tree rows equal path rows, every drafter lossless", async () => {
    const { m, original } = await loadBoth(replicaDir({ positions: "genai", packedQkv: true }, "q4"), "q4");
    expect(m.lm.info.treeAttention.enabled).toBe(true);
    const rows = await compareTreeRows(m.lm, original.lm, m.tokenizer.encode(PROMPTS[0]!, true), [7, 24], new Rng(9));
    expect(rows.worst).toBeLessThanOrEqual(1e-4);
    expect(rows.flips).toBe(0);
    await expectLosslessTrees(m, original);
    // Still the reference model: on held-out text, teacher-forced next-token argmax agrees with
    // fp32 on 264 of 300 positions, as the shipped model_q4.onnx does (264).
    const ref = (await referenceModel("fp32")).lm;
    const ids = m.tokenizer.encode(readFileSync(join(REPO, "test/fixtures/heldout.txt"), "utf8").slice(0, 2000), true).slice(0, 300);
    const a = await original.lm.forward(ids, ids.map((_, i) => i), original.lm.newCache());
    const b = await ref.forward(ids, ids.map((_, i) => i), ref.newCache());
    const V = ref.spec.vocabSize;
    expect(ids.filter((_, r) => argmax(a, r * V, V) === argmax(b, r * V, V)).length).toBeGreaterThanOrEqual(0.8 * ids.length);
    expect(m.lm.info.dtype).toBe("q4");
    await m.lm.dispose();
    await original.lm.dispose();
  });

  // float16 activations and KV: rows measured equal (worst diff 0) on WASM; the bound allows two
  // float16 ulps at the logits' size for other kernels.
  for (const [dtype, prompt, seed] of [["fp16", PROMPTS[1]!, 8], ["q4f16", PROMPTS[0]!, 10]] as const) {
    test(`${dtype} genai layout (float16 KV${dtype === "q4f16" ? ", MatMulNBits weights" : ""}): tree rows equal path rows, every drafter lossless`, async () => {
      const { m, original } = await loadBoth(replicaDir({ positions: "genai", packedQkv: true }, dtype), dtype);
      expect(m.lm.info.layout.kvType).toBe("float16");
      expect(m.lm.info.treeAttention.enabled).toBe(true);
      // float16 GQA keeps the kernel (the plain-op rewrite is float32 only).
      expect(m.lm.info.decomposedAttention).toBeUndefined();
      const rows = await compareTreeRows(m.lm, original.lm, m.tokenizer.encode(prompt, true), [7, 24], new Rng(seed));
      expect(rows.worst).toBeLessThanOrEqual(2 / 128);
      expect(rows.flips).toBe(0);
      await expectLosslessTrees(m, original);
      await m.lm.dispose();
      await original.lm.dispose();
    });
  }
});

describe("sliding window (GroupQueryAttention local_window_size)", () => {
  const WINDOW = 24;

  test("trees while past + tree fits the window, chains after; lossless against the original graph", async () => {
    const { m, original } = await loadBoth(replicaDir({ positions: "genai", packedQkv: true, localWindow: WINDOW }));
    expect(m.lm.info.layout.slidingWindow).toBe(WINDOW);
    expect(m.lm.info.treeAttention).toEqual({ enabled: true, maxContext: WINDOW });
    const prompt = "a = [1, 2, 3]\nb = [1, 2, 3]\nc = [";
    const long = { maxTokens: 40, stopAtEos: false };
    const want = (await generatePlain(original, prompt, long)).tokens;
    for (const seed of [1, 2, 3]) {
      const r = await generate(m, prompt, { ...long, drafter: new RandomTreeDrafter([...new Set(want)], seed), budget: 8 });
      expect(r.tokens).toEqual(want);
      expect(r.stats.windowChainSteps).toBeGreaterThan(0);
      expect(r.stats.verifyMode).toBe("tree");
    }
    await m.lm.dispose();
    await original.lm.dispose();
  });

  test("the limit is needed: a tree verified past the window gives rows that differ from its paths'", async () => {
    const { m, original } = await loadBoth(replicaDir({ positions: "genai", packedQkv: true, localWindow: 8 }));
    const prompt = m.tokenizer.encode("def parse(line):\n    key, value = line.split('=')\n    return key", true);
    expect(prompt.length).toBeGreaterThan(8);
    const rows = await compareTreeRows(m.lm, original.lm, prompt, [12], new Rng(3));
    expect(rows.worst).toBeGreaterThan(1e-2);
    await m.lm.dispose();
    await original.lm.dispose();
  });
});

describe("an onnxruntime-genai folder (genai_config.json, model.onnx + model.onnx.data, no config.json)", () => {
  const config = JSON.parse(readFileSync(join(MODEL_DIR, "config.json"), "utf8")) as Record<string, number>;
  const genaiConfig = {
    model: {
      type: "llama",
      bos_token_id: 1,
      eos_token_id: [2],
      context_length: 1024,
      vocab_size: config.vocab_size,
      decoder: {
        filename: "model.onnx",
        head_size: config.head_dim,
        hidden_size: config.hidden_size,
        num_attention_heads: config.num_attention_heads,
        num_hidden_layers: config.num_hidden_layers,
        num_key_value_heads: config.num_key_value_heads,
        inputs: { input_ids: "input_ids", attention_mask: "attention_mask", past_key_names: "past_key_values.%d.key", past_value_names: "past_key_values.%d.value" },
        outputs: { logits: "logits", present_key_names: "present.%d.key", present_value_names: "present.%d.value" },
      },
    },
    search: { max_length: 1024 },
  };
  function genaiDir(graph: Uint8Array): string {
    const dir = mkdtempSync(join(tmpdir(), "edgespec-genai-"));
    dirs.push(dir);
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) cpSync(join(MODEL_DIR, f), join(dir, f));
    writeFileSync(join(dir, "genai_config.json"), JSON.stringify(genaiConfig));
    const { graph: g, data } = toExternalData(graph, ["model.onnx.data"]);
    writeFileSync(join(dir, "model.onnx"), g);
    for (const [name, bytes] of data) writeFileSync(join(dir, name), bytes);
    return dir;
  }

  test("loads from genai_config.json, dtype read from the graph, tree mode, lossless against the reference", async () => {
    const dir = genaiDir(genaiReplica(REFERENCE, { positions: "genai", packedQkv: true }));
    const m = await loadModel(bunHost, dir, { device: "wasm" });
    expect(m.lm.info.file).toBe(join(dir, "model.onnx"));
    expect(m.lm.info.dtype).toBe("fp32");
    expect(m.lm.info.layout.externalFiles).toEqual(["model.onnx.data"]);
    expect(m.lm.spec).toMatchObject({ modelType: "llama", numLayers: 6, numKvHeads: 4, headDim: 32, vocabSize: 4096, contextLength: 1024, bosTokenId: 1, eosTokenIds: [2] });
    expect(m.lm.info.treeAttention.enabled).toBe(true);
    const ref = await referenceModel("fp32");
    const want = (await generatePlain(ref, PROMPTS[1]!, greedy)).tokens;
    const r = await generate(m, PROMPTS[1]!, { ...greedy, drafter: buildDrafter(m, { name: "hybrid" }), budget: 12 });
    expect(r.tokens).toEqual(want);
    expect(r.stats.acceptedTokens).toBeGreaterThan(0);
    await m.lm.dispose();
  });

  test("the folder's one graph is float16: dtype fp16; asking for another dtype is a one-line error", async () => {
    const dir = genaiDir(toFloat16(genaiReplica(REFERENCE, { positions: "genai", packedQkv: true })));
    const m = await loadModel(bunHost, dir, { device: "wasm" });
    expect(m.lm.info.dtype).toBe("fp16");
    expect(m.lm.info.layout.kvType).toBe("float16");
    await m.lm.dispose();
    const err = (await loadModel(bunHost, dir, { device: "wasm", dtype: "q4" }).catch((e: unknown) => e)) as EdgespecError;
    expect(err).toBeInstanceOf(EdgespecError);
    expect(err.code).toBe("model_file_missing");
    expect(err.message).toContain("onnxruntime-genai folder with one graph, model.onnx (fp16)");
  });

  test("edgespec inspect: the fused layout, the added position input, the folder's one file, tree verify", async () => {
    const dir = genaiDir(genaiReplica(REFERENCE, { positions: "genai", packedQkv: true, localWindow: 512 }));
    const r = await run([...BIN.bun, "inspect", "--model", dir, "--device", "wasm", "--json"]);
    if (r.code !== 0) throw new Error(r.stderr);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ attention: "GroupQueryAttention", decomposedAttention: { layers: 6, kept: null }, slidingWindow: 512, positions: "added", files: { fp32: "model.onnx" }, externalData: ["model.onnx.data"], treeVerify: { available: true, reason: null } });
    const text = await run([...BIN.bun, "inspect", "--model", dir, "--device", "wasm"]);
    expect(text.stdout).toMatch(/^attention {4}GroupQueryAttention \(6 layers run as plain ops here: the WASM kernel is slow for several new tokens\), sliding window 512 /m);
    const reference = JSON.parse((await run([...BIN.bun, "inspect", "--model", MODEL_DIR, "--device", "wasm", "--json"])).stdout);
    expect(reference).toMatchObject({ attention: "decomposed", decomposedAttention: null, slidingWindow: null, positions: "input" });
  });

  test("int4 folders: MatMulNBits weights read as q4, with float16 activations as q4f16", async () => {
    for (const [graph, dtype] of [[toMatMulNBits(genaiReplica(REFERENCE, { positions: "genai", packedQkv: true })), "q4"], [toFloat16(toMatMulNBits(genaiReplica(REFERENCE, { positions: "genai", packedQkv: true }))), "q4f16"]] as const) {
      const m = await loadModel(bunHost, genaiDir(graph), { device: "wasm" });
      expect(m.lm.info.dtype).toBe(dtype);
      expect(m.lm.info.treeAttention.enabled).toBe(true);
      await m.lm.dispose();
    }
  });

  test("a genai_config.json naming a decoder that is not there says so", async () => {
    const dir = genaiDir(genaiReplica(REFERENCE, { positions: "genai", packedQkv: true }));
    rmSync(join(dir, "model.onnx"));
    const err = (await loadModel(bunHost, dir, { device: "wasm" }).catch((e: unknown) => e)) as EdgespecError;
    expect(err.code).toBe("model_file_missing");
    expect(err.message).toContain("genai_config.json names decoder model.onnx");
  });
});
