/**
 * Library errors and notes name options as a library user set them (`device "wasm"`), never the
 * CLI's flags (`--device wasm`), which that user never typed; the CLI's path keeps its flags. One
 * table rewrites them (src/option-names.ts), so every message is written once; codes are kept.
 */
import { describe, expect, test } from "bun:test";
import { bunHost } from "../../adapters/bun/host.ts";
import { loadNativeOrt } from "../../adapters/native/ort.ts";
import { EdgespecError } from "../../src/errors.ts";
import type { Host } from "../../src/host.ts";
import { openWith, type ProgressEvent } from "../../src/library.ts";
import { inLibraryTerms } from "../../src/option-names.ts";
import { setUp } from "../../src/setup.ts";
import { MODEL_DIR } from "../helpers/model.ts";

const refusal = (p: Promise<unknown>) => p.then(() => { throw new Error("expected a refusal"); }, (e: unknown) => e as EdgespecError);

describe("inLibraryTerms", () => {
  test("names flags as the library's options, a value only where the option takes it", () => {
    const cases: [string, string][] = [
      ["no WebGPU adapter on bun; use --device wasm (or auto)", 'no WebGPU adapter on bun; use device "wasm" (or auto)'],
      ["--device cpu: Deno may not load it: run with --allow-ffi (or -A)", 'device "cpu": Deno may not load it: run with --allow-ffi (or -A)'],
      ["unpacked (--packed-weights keeps them packed)", "unpacked (unpackWeights: false keeps them packed)"],
      ["use --dtype q8, --threads 2 or --kernels ts", 'use dtype "q8", threads 2 or kernels "ts"'],
      ["leave --threads unset; --drafter hybrid", "leave threads unset; drafter hybrid"],
      ["--devices and --device-x are no flags of ours; --allow-read is Deno's", "--devices and --device-x are no flags of ours; --allow-read is Deno's"],
    ];
    for (const [cli, library] of cases) expect(inLibraryTerms(cli)).toBe(library);
  });
});

describe("open() names options, not flags", () => {
  test("no WebGPU adapter: device \"wasm\", with the code kept; the shared setup path (the CLI's) keeps --device", async () => {
    const e = await refusal(openWith(bunHost, { model: MODEL_DIR, device: "webgpu", drafter: "none" }));
    expect(e).toBeInstanceOf(EdgespecError);
    expect(e.code).toBe("device_unavailable");
    expect(e.message).toBe('no WebGPU adapter on bun; use device "wasm" (or auto)');
    expect(e.stack).toContain('use device "wasm"');
    const cli = await refusal(setUp(bunHost, { model: MODEL_DIR, device: "webgpu", drafter: "none" }));
    expect(cli.message).toBe("no WebGPU adapter on bun; use --device wasm (or auto)");
  });

  test("device cpu without onnxruntime-node: device \"cpu\" needs the native onnxruntime", async () => {
    const missing: Host = { ...bunHost, loadOrt: (d) => (d === "cpu" ? loadNativeOrt(() => Promise.reject(new Error("Cannot find package 'onnxruntime-node'"))) : bunHost.loadOrt(d)) };
    const e = await refusal(openWith(missing, { model: MODEL_DIR, device: "cpu", drafter: "none" }));
    expect(e.code).toBe("device_unavailable");
    expect(e.message).toStartWith('device "cpu" needs the native onnxruntime (npm install onnxruntime-node@1.30.0)');
  });

  test("a progress note (a software WebGPU adapter passed over) names device \"webgpu\"", async () => {
    const software: Host = { ...bunHost, webGpuAdapter: async () => ({ description: "llvmpipe", fallback: true }) };
    const notes: string[] = [];
    const lm = await openWith(software, { model: MODEL_DIR, device: "auto", dtype: "fp32", drafter: "none", onProgress: (e: ProgressEvent) => void (e.phase === "note" && notes.push(e.message)) });
    await lm.close();
    expect(notes).toContain('WebGPU adapter "llvmpipe" is a software fallback: using wasm (device "webgpu" uses it anyway)');
    expect(notes.filter((n) => n.includes("--"))).toEqual([]);
  });
});
