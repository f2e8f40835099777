/**
 * The same greedy tokens on every runtime and backend: Bun, Deno and Node on WASM and on the native
 * CPU backend, and Deno's WebGPU backend (llvmpipe in CI, via mesa-vulkan-drivers) against WASM.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { BIN, MODEL_DIR, REPO, run } from "../helpers/model.ts";
import { denoHasWebGpu, testWhen, WEBGPU_REQUIREMENT } from "../helpers/requirements.ts";

const webgpu = await denoHasWebGpu();

const PROMPTS = ["import os\n\ndef read_config(path):\n", "interface Options {\n  /** The"];

async function greedy(bin: string[], prompt: string, extra: string[] = []): Promise<number[]> {
  const r = await run([...bin, "generate", "--model", MODEL_DIR, "--prompt", prompt, "--max-tokens", "12", "--json", ...extra]);
  if (r.code !== 0) throw new Error(`${bin.join(" ")} failed: ${r.stderr}`);
  return JSON.parse(r.stdout).tokens;
}

beforeAll(async () => {
  // Node cannot run TypeScript: run the same bundle `npm run build` makes.
  const b = await run([`${REPO}node_modules/.bin/bun`, "run", "build"]);
  if (b.code !== 0) throw new Error(`build failed: ${b.stderr}`);
});

describe("the default model", () => {
  test("Bun, Deno and Node load edgespec-small when no --model is given", async () => {
    for (const bin of [BIN.bun, BIN.deno, BIN.node]) {
      const r = await run([...bin, "inspect", "--json", "--device", "wasm"]);
      expect(r.code).toBe(0);
      const info = JSON.parse(r.stdout);
      expect(info.dir).toMatch(/models\/edgespec-small$/);
      expect(info.vocabSize).toBe(16384);
    }
  });

  test("a shipped model by name is the same folder on Bun, Deno and Node (found beside the default one, `..` resolved)", async () => {
    const dirs: string[] = [];
    for (const bin of [BIN.bun, BIN.deno, BIN.node]) {
      const r = await run([...bin, "inspect", "--json", "--device", "wasm", "--model", "edgespec-tiny"]);
      expect(r.code).toBe(0);
      dirs.push(JSON.parse(r.stdout).dir);
    }
    expect(dirs[0]).toMatch(/\/models\/edgespec-tiny$/);
    expect(dirs).toEqual([dirs[0]!, dirs[0]!, dirs[0]!]);
  });
});

describe("greedy output across runtimes", () => {
  for (const [i, prompt] of PROMPTS.entries()) {
    test(`prompt ${i}: Bun, Deno and Node agree (q8 and fp32, wasm)`, async () => {
      for (const dtype of ["q8", "fp32"]) {
        const flags = ["--dtype", dtype, "--device", "wasm"];
        const bun = await greedy(BIN.bun, prompt, flags);
        expect(bun.length).toBe(12);
        expect(await greedy(BIN.deno, prompt, flags)).toEqual(bun);
        expect(await greedy(BIN.node, prompt, flags)).toEqual(bun);
      }
    });
  }

  test("the native CPU backend (onnxruntime-node) agrees with WASM on Bun, Deno and Node (fp32)", async () => {
    const prompt = PROMPTS[0]!;
    const wasm = await greedy(BIN.bun, prompt, ["--dtype", "fp32", "--device", "wasm"]);
    for (const bin of [BIN.bun, BIN.deno, BIN.node]) {
      const r = await run([...bin, "generate", "--model", MODEL_DIR, "--prompt", prompt, "--max-tokens", "12", "--json", "--dtype", "fp32", "--device", "cpu"]);
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.stats.backend).toBe("cpu");
      expect(out.tokens).toEqual(wasm);
    }
  });

  // CI installs mesa-vulkan-drivers, so an adapter must exist there.
  testWhen(webgpu, WEBGPU_REQUIREMENT)("Deno WebGPU agrees with WASM (fp32)", async () => {
    const prompt = PROMPTS[0]!;
    const wasm = await greedy(BIN.deno, prompt, ["--dtype", "fp32", "--device", "wasm"]);
    const gpu = await run([...BIN.deno, "generate", "--model", MODEL_DIR, "--prompt", prompt, "--max-tokens", "12", "--json", "--dtype", "fp32", "--device", "webgpu"]);
    expect(gpu.code).toBe(0);
    const out = JSON.parse(gpu.stdout);
    expect(out.stats.backend).toBe("webgpu");
    expect(out.stats.adapter).toMatch(/\S/);
    expect(out.tokens).toEqual(wasm);
  });

  // The CI adapter is llvmpipe, a software fallback: auto must not pick it, and must say so.
  testWhen(webgpu, WEBGPU_REQUIREMENT)("Deno --device auto does not choose a software fallback adapter, and says why", async () => {
    const r = await run([...BIN.deno, "generate", "--model", MODEL_DIR, "--prompt", PROMPTS[0]!, "--max-tokens", "4", "--json", "--dtype", "fp32"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.stats).toMatchObject({ backend: "wasm", kvCache: "cpu" });
    expect(r.stderr).toMatch(/WebGPU adapter ".*llvmpipe.*" is a software fallback: using wasm/);
    const forced = await run([...BIN.deno, "inspect", "--model", MODEL_DIR, "--device", "webgpu", "--json"]);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).loaded).toMatchObject({ backend: "webgpu", adapter: expect.stringContaining("llvmpipe"), kvCache: "gpu" });
    expect(forced.stderr).toContain("is a software fallback (expect it to be slower than wasm)");
  });
});
