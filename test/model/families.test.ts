/**
 * Decomposed exports of other families (test/helpers/family-replica.ts): Qwen2 (q/k/v biases),
 * Qwen3 (q/k RMSNorm), Phi-3 (fused qkv and gate_up), Gemma-2 (1 + w norms, scaled embeddings,
 * attention and final soft-capping, a sliding window). Each gets tree attention on every layer,
 * its tree rows equal its paths' plain rows, and every drafter reproduces the original,
 * unrewritten graph's greedy output.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunHost } from "../../adapters/bun/host.ts";
import { generatePlain } from "../../src/decode/plain.ts";
import { Rng } from "../../src/decode/rng.ts";
import { buildDrafter, DRAFTER_NAMES } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/speculative.ts";
import { loadModel } from "../../src/model/load.ts";
import { FAMILY_KV_HEADS, type Family, familyReplica, GEMMA_WINDOW } from "../helpers/family-replica.ts";
import { MODEL_DIR, referenceModel, withDraftAssets } from "../helpers/model.ts";
import { RandomTreeDrafter } from "../helpers/test-drafters.ts";
import { compareTreeRows } from "../helpers/tree-rows.ts";

const REFERENCE = await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function familyDir(family: Family): string {
  const dir = mkdtempSync(join(tmpdir(), `edgespec-${family}-`));
  dirs.push(dir);
  cpSync(MODEL_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const extra = family === "gemma2" ? { model_type: "gemma2", sliding_window: GEMMA_WINDOW } : { model_type: family };
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, num_key_value_heads: FAMILY_KV_HEADS, ...extra }));
  writeFileSync(join(dir, "onnx", "model.onnx"), familyReplica(REFERENCE, family));
  return dir;
}

const PROMPTS = ["def get_name(self):\n    return self.name\n\ndef get_path(self):\n", "a = [1, 2, 3]\nb = [1, 2, 3]\nc = ["];

describe("decomposed exports of other families", () => {
  for (const family of ["qwen2", "qwen3", "phi3", "gemma2"] as const) {
    test(`${family}: tree attention on every layer, rows = path rows, every drafter lossless against the original graph`, async () => {
      const dir = familyDir(family);
      const m = await withDraftAssets(await loadModel(bunHost, dir, { device: "wasm" }));
      const original = await loadModel(bunHost, dir, { device: "wasm", treeAttention: false });
      expect(m.lm.info.layout.attention).toBe("decomposed");
      expect(m.lm.info.treeAttention.enabled).toBe(true);
      if (family === "gemma2") expect(m.lm.info.treeAttention.maxContext).toBe(GEMMA_WINDOW);
      // A short prompt: with Gemma's window, rows are exact while past + tree fits it (32).
      const short = m.tokenizer.encode("def f(x):\n    return", true);
      expect(short.length + 13).toBeLessThanOrEqual(GEMMA_WINDOW);
      const rows = await compareTreeRows(m.lm, original.lm, short, [7, 12], new Rng(5));
      expect(rows.worst).toBeLessThanOrEqual(1e-4);
      expect(rows.flips).toBe(0);
      const opts = { maxTokens: 40, stopAtEos: false };
      let accepted = 0;
      for (const [i, prompt] of PROMPTS.entries()) {
        const want = (await generatePlain(original, prompt, opts)).tokens;
        expect((await generatePlain(m, prompt, opts)).tokens).toEqual(want);
        for (const drafter of [...DRAFTER_NAMES.filter((n) => n !== "none").map((name) => buildDrafter(m, { name })!), new RandomTreeDrafter([...new Set(want)], i + 1)]) {
          const r = await generate(m, prompt, { ...opts, drafter, budget: 12 });
          expect({ drafter: drafter.name, tokens: r.tokens }).toEqual({ drafter: drafter.name, tokens: want });
          expect(r.stats.verifyMode).toBe("tree");
          accepted += r.stats.acceptedTokens;
          if (family === "gemma2" && prompt.length > 40) expect(r.stats.windowChainSteps ?? 0).toBeGreaterThan(0);
        }
      }
      expect(accepted).toBeGreaterThan(0);
      if (family === "phi3") {
        // Fused projections and duplicated KV heads compute the reference model exactly: the
        // replica's graph is right, not just self-consistent.
        const ref = (await referenceModel("fp32")).lm;
        const ids = m.tokenizer.encode(PROMPTS[0]!, true);
        const a = await original.lm.forward(ids, ids.map((_, i) => i), original.lm.newCache());
        const b = await ref.forward(ids, ids.map((_, i) => i), ref.newCache());
        expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))).toBeLessThan(1e-4);
      }
      await m.lm.dispose();
      await original.lm.dispose();
    });
  }
});
