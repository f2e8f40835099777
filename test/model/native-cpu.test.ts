/**
 * `--device cpu`: onnxruntime-node's native kernels behind the same CausalLM. Losslessness for
 * every drafter is in test/engine/lossless.test.ts; here, the numerics, the tree rewrite on this
 * backend, and the errors a user can meet.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunHost } from "../../adapters/bun/host.ts";
import { loadModel } from "../../src/model/load.ts";
import { MODEL_DIR, referenceModel } from "../helpers/model.ts";
import { worstAgainstReference } from "../helpers/reference-logits.ts";
import { toFloat16 } from "../helpers/graph-surgery.ts";

describe("native CPU backend", () => {
  test("fp32 logits equal the training framework's within 1e-4, with tree attention on", async () => {
    const m = await referenceModel("fp32", "cpu");
    expect(m.lm.info.backend).toBe("cpu");
    expect(m.lm.info.treeAttention.enabled).toBe(true);
    expect(await worstAgainstReference(m.lm)).toBeLessThan(1e-4);
  });

  test("a tree's rows equal its paths' rows (the bias and positions reach the native kernels)", async () => {
    const m = await referenceModel("fp32", "cpu");
    const V = m.lm.spec.vocabSize;
    const prompt = m.tokenizer.encode("def add(a, b):\n", true);
    // Root 10 with two children 11 and 12 (siblings), and 13 under 12.
    const tree = { tokens: [10, 11, 12, 13], parents: [-1, 0, 0, 2], depth: [0, 1, 1, 2] };
    const n = tree.tokens.length, past = prompt.length, total = past + n;
    const bias = new Float32Array(n * total).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < past; j++) bias[i * total + j] = 0;
      for (let a = i; a >= 0; a = tree.parents[a]!) bias[i * total + past + a] = 0;
    }
    const cache = m.lm.newCache();
    await m.lm.forward(prompt, prompt.map((_, i) => i), cache);
    const rows = await m.lm.forward(tree.tokens, tree.depth.map((d) => past + d), cache, { attentionBias: bias });
    for (const [node, path] of [[2, [10, 12]], [3, [10, 12, 13]]] as const) {
      cache.truncate(past);
      const plain = await m.lm.forward(path, path.map((_, i) => past + i), cache);
      let worst = 0;
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(rows[node * V + v]! - plain[(path.length - 1) * V + v]!));
      expect(worst).toBeLessThan(1e-4);
    }
  });

  test("fp16 KV under Bun's N-API: refused at load with a clear error, not at the first request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgespec-cpu16-"));
    try {
      cpSync(MODEL_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
      writeFileSync(join(dir, "onnx", "model_fp16.onnx"), toFloat16(await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`)));
      const err = await loadModel(bunHost, dir, { dtype: "fp16", device: "cpu" }).then(() => undefined, (e: unknown) => e);
      // When Bun learns float16 typed arrays in N-API this load succeeds: then drop the probe.
      expect(err).toMatchObject({ code: "device_unavailable" });
      expect((err as Error).message).toContain("use --device wasm");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
