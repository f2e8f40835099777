/**
 * Fused-attention layouts (com.microsoft.GroupQueryAttention), rebuilt from the reference model's
 * weights (test/helpers/genai-replica.ts): the onnxruntime-genai builder's (no position_ids input,
 * rotary inside the op, packed or separate QKV) and the transformers.js-style one (position_ids
 * input, RotaryEmbedding nodes, do_rotary=0). The ground truth is the user's: the original,
 * unrewritten graph decoded plainly by onnxruntime.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunHost } from "../../adapters/bun/host.ts";
import { generatePlain } from "../../src/decode/generate.ts";
import { Rng } from "../../src/decode/rng.ts";
import { buildDrafter, DRAFTER_NAMES } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/generate.ts";
import { type LoadedModel, loadModel } from "../../src/model/load.ts";
import { genaiReplica, type ReplicaOptions } from "../helpers/genai-replica.ts";
import { toFloat16 } from "../helpers/graph-surgery.ts";
import { MODEL_DIR, referenceModel } from "../helpers/model.ts";
import { RandomTreeDrafter } from "../helpers/test-drafters.ts";
import { compareTreeRows } from "../helpers/tree-rows.ts";

const REFERENCE = await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function replicaDir(opts: ReplicaOptions, dtype: "fp32" | "fp16" = "fp32"): string {
  const dir = mkdtempSync(join(tmpdir(), "edgespec-gqa-"));
  dirs.push(dir);
  cpSync(MODEL_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
  const graph = genaiReplica(REFERENCE, opts);
  writeFileSync(join(dir, "onnx", dtype === "fp16" ? "model_fp16.onnx" : "model.onnx"), dtype === "fp16" ? toFloat16(graph) : graph);
  return dir;
}

/** The rewritten model and the original graph (no rewrite) on the same files. */
async function loadBoth(dir: string, dtype: "fp32" | "fp16" = "fp32"): Promise<{ m: LoadedModel; original: LoadedModel }> {
  const m = await loadModel(bunHost, dir, { dtype, device: "wasm" });
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
];

describe("GroupQueryAttention layouts on WASM", () => {
  for (const [name, opts] of LAYOUTS) {
    test(`${name}: tree mode; plain, tree rows and every drafter equal the original graph`, async () => {
      const { m, original } = await loadBoth(replicaDir(opts));
      expect(m.lm.info.layout.attention).toBe("GroupQueryAttention");
      expect(m.lm.info.treeAttention).toEqual({ enabled: true });
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

  test("float16 genai layout (float16 KV): tree rows equal path rows (measured worst |diff| 0), every drafter lossless", async () => {
    const { m, original } = await loadBoth(replicaDir({ positions: "genai", packedQkv: true }, "fp16"), "fp16");
    expect(m.lm.info.layout.kvType).toBe("float16");
    expect(m.lm.info.treeAttention.enabled).toBe(true);
    const rows = await compareTreeRows(m.lm, original.lm, m.tokenizer.encode(PROMPTS[1]!, true), [7, 24], new Rng(8));
    expect(rows.worst).toBeLessThanOrEqual(2 / 128);
    expect(rows.flips).toBe(0);
    await expectLosslessTrees(m, original);
    await m.lm.dispose();
    await original.lm.dispose();
  });
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
