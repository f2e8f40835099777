/** Lossless greedy decoding on Deno's WebGPU backend (llvmpipe in CI), fp32 and q4, every drafter. */
import { expect, test } from "bun:test";
import { BIN, REPO, run } from "../helpers/model.ts";

test("WebGPU (Deno): every drafter reproduces plain greedy output, fp32 and q4", async () => {
  const probe = await run([BIN.deno[0]!, "eval", "console.log(!!(await navigator.gpu?.requestAdapter()))"]);
  if (probe.stdout.trim() !== "true") {
    if (process.env.CI) throw new Error("no WebGPU adapter under Deno in CI (is mesa-vulkan-drivers installed?)");
    console.warn("skipped: no WebGPU adapter under Deno on this machine");
    return;
  }
  const r = await run([BIN.deno[0]!, "run", "-A", `${REPO}test/runtime/lossless-webgpu.deno.ts`]);
  if (r.code !== 0) throw new Error(r.stderr);
  const results = JSON.parse(r.stdout.trim().split("\n").pop()!) as { dtype: string; backend: string; plain: number[]; drafters: Record<string, number[]> }[];
  expect(results.length).toBe(4);
  for (const res of results) {
    expect(res.backend).toBe("webgpu");
    expect(res.plain.length).toBe(12);
    for (const tokens of Object.values(res.drafters)) expect(tokens).toEqual(res.plain);
  }
});
