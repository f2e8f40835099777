/**
 * Lossless greedy decoding on Deno's WebGPU backend (llvmpipe in CI): every drafter, with tree
 * attention, reproduces plain output token for token over 32 tokens, fp32, q4 and a float16
 * replica (float16 KV cache, test/helpers/graph-surgery.ts), and each of
 * them gets drafts accepted (so the tree verify and KV compaction paths really ran on the GPU).
 * GroupQueryAttention replicas (fp32, fp16; test/helpers/genai-replica.ts) run in chain mode:
 * onnxruntime-web's WebGPU GQA kernel ignores the tree's position_ids and attention_bias, which
 * the load-time tree check must catch, and chains stay lossless. A MultiHeadAttention replica gets
 * tree mode (that kernel honours the bias). On an adapter without shader-f16 (some llvmpipe
 * builds) the float16 replicas cannot run: there the load must refuse them with the reason.
 */
import { expect } from "bun:test";
import { DRAFTER_NAMES } from "../../src/drafters/index.ts";
import { BIN, REPO, run } from "../helpers/model.ts";
import { denoHasWebGpu, testWhen, WEBGPU_REQUIREMENT } from "../helpers/requirements.ts";

const TOKENS = 32;
type Run = { tokens: number[]; steps: number; accepted: number; treeAttention: boolean; kvType: string };

testWhen(await denoHasWebGpu(), WEBGPU_REQUIREMENT)(`WebGPU (Deno): every drafter reproduces ${TOKENS} plain greedy tokens with drafts accepted, fp32, q4 and fp16, decomposed and MultiHeadAttention (trees), GroupQueryAttention (chains)`, async () => {
  const r = await run([BIN.deno[0]!, "run", "-A", `${REPO}test/runtime/lossless-webgpu.deno.ts`, String(TOKENS)]);
  if (r.code !== 0) throw new Error(r.stderr);
  const { float16, results, refused } = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
    float16: boolean | null;
    results: { layout: string; dtype: string; backend: string; plain: number[]; treeReason?: string; drafters: Record<string, Run> }[];
    refused: { layout: string; dtype: string; code: string; message: string }[];
  };
  const all = ["decomposed fp32", "decomposed fp32", "decomposed q4", "decomposed fp16", "GroupQueryAttention fp32", "GroupQueryAttention fp16", "MultiHeadAttention fp32"];
  if (float16 === false) {
    // An adapter without shader-f16 (some llvmpipe builds): the float16 graphs are refused at load
    // with the reason, not failed inside onnxruntime at the first forward; the rest run.
    expect(refused.map((x) => `${x.layout} ${x.dtype}`)).toEqual(["decomposed fp16", "GroupQueryAttention fp16"]);
    for (const x of refused) expect(x).toMatchObject({ code: "device_unavailable", message: expect.stringContaining("no shader-f16") });
    expect(results.map((x) => `${x.layout} ${x.dtype}`)).toEqual(all.filter((x) => !x.endsWith("fp16")));
  } else {
    expect(refused).toEqual([]);
    expect(results.map((x) => `${x.layout} ${x.dtype}`)).toEqual(all);
  }
  const expected = DRAFTER_NAMES.filter((n) => n !== "none");
  for (const res of results) {
    expect(res.backend).toBe("webgpu");
    expect(res.plain.length).toBe(TOKENS);
    expect(Object.keys(res.drafters).sort()).toEqual([...expected].sort());
    // The WebGPU MultiHeadAttention kernel honours attention_bias (tree rows = path rows within 1.1e-5).
    const tree = res.layout !== "GroupQueryAttention";
    if (!tree) expect(res.treeReason).toContain("ignores the tree's positions or attention bias");
    for (const [name, d] of Object.entries(res.drafters)) {
      expect({ name, tokens: d.tokens }).toEqual({ name, tokens: res.plain });
      expect(d.treeAttention).toBe(tree);
      expect(d.kvType).toBe(res.dtype === "fp16" ? "float16" : "float32");
      expect(d.accepted).toBeGreaterThan(0);
      expect(d.steps + d.accepted).toBe(TOKENS - 1);
    }
  }
}, 600_000);
