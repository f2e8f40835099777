/**
 * Two models with different settings in one process: a setup holds everything its model depends
 * on (session, kernels, drafters), so neither sees the other's. The WASM thread pool is the one
 * thing onnxruntime-web keeps per process; asking for another count is refused, not ignored.
 */
import { afterAll, describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-web";
import { open } from "../../adapters/bun/index.ts";
import { generatePlain } from "../../src/decode/plain.ts";
import { bunHost } from "../../adapters/bun/host.ts";
import { type KernelSet, tsKernels } from "../../src/drafters/kernels/index.ts";
import { EdgespecError } from "../../src/errors.ts";
import { setUp } from "../../src/setup.ts";
import { MODEL_DIR } from "../helpers/model.ts";

const PROMPTS = ["def fibonacci(n):", "import os\nimport sys\n\n", "class Queue:\n    def __init__(self):", "for i in range(10):\n    print(i)\nfor i in range(10):"];
const params = { maxTokens: 32, stopAtEos: false };

describe("two models in one process", () => {
  const wasm = open({ model: MODEL_DIR, dtype: "fp32", device: "wasm", drafter: "sam", kernels: "ts" });
  const cpu = open({ model: MODEL_DIR, dtype: "q4", device: "cpu", threads: 1, drafter: "hybrid", kernels: "wasm" });
  afterAll(async () => {
    await (await wasm).close();
    await (await cpu).close();
  });

  test("each keeps its device, dtype, drafter and kernels; interleaved generations equal each one's plain decoding", async () => {
    const [a, b] = await Promise.all([wasm, cpu]);
    expect([a.model.lm.info.backend, a.model.lm.info.dtype, a.drafter, a.kernels]).toEqual(["wasm", "fp32", "sam", "ts"]);
    expect([b.model.lm.info.backend, b.model.lm.info.dtype, b.drafter, b.kernels]).toEqual(["cpu", "q4", "hybrid", "wasm"]);
    // Both models' generations in flight at once, prompt by prompt.
    const results = await Promise.all(PROMPTS.flatMap((p) => [a.generate(p, params), b.generate(p, params)]));
    for (const [i, prompt] of PROMPTS.entries()) {
      const [ra, rb] = [results[2 * i]!, results[2 * i + 1]!];
      expect(ra.stats.drafter).toBe("sam");
      expect(rb.stats.drafter).toBe("hybrid");
      expect(ra.tokens).toEqual((await generatePlain(a.model, prompt, params)).tokens);
      expect(rb.tokens).toEqual((await generatePlain(b.model, prompt, params)).tokens);
    }
    // The drafters drafted (else equal output would prove little), and each LM counted its own.
    expect(a.stats.generations).toBe(PROMPTS.length);
    expect(b.stats.generations).toBe(PROMPTS.length);
    expect(a.stats.meanAcceptedLength).toBeGreaterThan(1);
    expect(b.stats.meanAcceptedLength).toBeGreaterThan(1);
    expect(a.stats.tokens).toBe(results.filter((_, i) => i % 2 === 0).reduce((n, r) => n + r.tokens.length, 0));
  });

  test("a setup's drafters run on its kernels: one WASM instance per setup, TypeScript where asked", async () => {
    // Each built-in keeps the set it was given (the hybrid's own field, the others' context).
    const kernelsOf = (d: unknown) => (d as { kernels?: KernelSet; ctx?: { kernels: KernelSet } }).kernels ?? (d as { ctx: { kernels: KernelSet } }).ctx.kernels;
    const one = await setUp(bunHost, { model: MODEL_DIR, dtype: "fp32", device: "wasm", kernels: "wasm", drafter: "hybrid" });
    const two = await setUp(bunHost, { model: MODEL_DIR, dtype: "fp32", device: "wasm", kernels: "wasm", drafter: "sam" });
    const ts = await setUp(bunHost, { model: MODEL_DIR, dtype: "fp32", device: "wasm", kernels: "ts", drafter: "ngram" });
    try {
      expect(kernelsOf(one.drafter("hybrid"))).toBe(one.kernels);
      // sam and recycle are not these setups' drafters: loadDrafter reads the model's assets they start from.
      expect(kernelsOf(await one.loadDrafter("sam"))).toBe(one.kernels);
      expect(one.kernels.name).toBe("wasm");
      expect(two.kernels).not.toBe(one.kernels);
      expect(kernelsOf(two.drafter("sam"))).toBe(two.kernels);
      expect(kernelsOf(await ts.loadDrafter("recycle"))).toBe(tsKernels);
    } finally {
      for (const s of [one, two, ts]) await s.close();
    }
  });

  test("closing one leaves the other working", async () => {
    const c = await open({ model: MODEL_DIR, dtype: "fp32", device: "wasm", drafter: "ngram" });
    const b = await cpu;
    const before = await b.generate(PROMPTS[0]!, params);
    await c.close();
    expect((await b.generate(PROMPTS[0]!, params)).tokens).toEqual(before.tokens);
  });

  test("a WASM thread count other than the process's is refused with the reason, before any session is made", async () => {
    await wasm;
    const set = ort.env.wasm.numThreads as number;
    expect(set).toBeGreaterThan(0);
    const err = await open({ model: MODEL_DIR, dtype: "fp32", device: "wasm", threads: set + 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgespecError);
    expect((err as EdgespecError).code).toBe("invalid_argument");
    expect((err as Error).message).toMatch(new RegExp(`one thread pool, already set to ${set} threads?; asked for ${set + 1}`));
    expect(ort.env.wasm.numThreads).toBe(set);
    // The same count, or none, is fine.
    await (await open({ model: MODEL_DIR, dtype: "fp32", device: "wasm", threads: set, drafter: "none" })).close();
  });
});
