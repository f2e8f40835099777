/**
 * The WASM runtime starts while the model is read (src/model/ort-env.ts, startWasmRuntime): it is
 * under way before the graph file is read, a failure to start fails the load with its reason, and
 * a model that is not there is reported before anything starts.
 */
import { describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-web";
import { bunHost } from "../../adapters/bun/host.ts";
import type { Host, OrtModule } from "../../src/host.ts";
import { EdgespecError } from "../../src/errors.ts";
import { loadModel } from "../../src/model/load.ts";
import { MODEL_DIR } from "../helpers/model.ts";

/** bunHost with onnxruntime-web behind `wrap`, and the graph reads seen with the sessions created before each. */
function watchedHost(wrap: (create: typeof ort.InferenceSession.create) => typeof ort.InferenceSession.create) {
  const seen = { creates: 0, createsBeforeGraphRead: [] as number[] };
  const host: Host = {
    ...bunHost,
    async loadOrt(device) {
      const real = await bunHost.loadOrt(device);
      const create = wrap(((...args: Parameters<typeof ort.InferenceSession.create>) => {
        seen.creates++;
        return real.InferenceSession.create(...args);
      }) as typeof ort.InferenceSession.create);
      return { ...real, env: real.env, InferenceSession: { ...real.InferenceSession, create } } as unknown as OrtModule;
    },
    async readFile(path) {
      if (path.endsWith(".onnx")) seen.createsBeforeGraphRead.push(seen.creates);
      return bunHost.readFile(path);
    },
  };
  return { host, seen };
}

describe("the WASM runtime starts while the model is read", () => {
  test("a session is under way before the graph is read, and the model loads and runs", async () => {
    const { host, seen } = watchedHost((create) => create);
    const m = await loadModel(host, MODEL_DIR, { device: "wasm" });
    expect(seen.createsBeforeGraphRead[0]).toBeGreaterThanOrEqual(1);
    const top = await m.lm.forwardTop!([1, 5, 9], [0, 1, 2], m.lm.newCache(), false);
    expect(top.argmax.length).toBe(3);
    await m.lm.dispose();
  });

  test("a runtime that cannot start fails the load with its reason", async () => {
    // As onnxruntime-web does: the start fails with its reason, every later session with a vaguer one.
    let calls = 0;
    const { host } = watchedHost(() => (async () => {
      throw new Error(calls++ === 0 ? "no WebAssembly SIMD here" : "previous call to 'initWasm()' failed.");
    }) as unknown as typeof ort.InferenceSession.create);
    const err = await loadModel(host, MODEL_DIR, { device: "wasm" }).catch((e) => e);
    expect(err.code).toBe("model_invalid");
    expect(err.message).toContain("no WebAssembly SIMD here");
  });

  test("--device cpu without onnxruntime-node is reported before the graph is read", async () => {
    const reads: string[] = [];
    const host: Host = {
      ...bunHost,
      async loadOrt(device) {
        if (device === "cpu") throw new EdgespecError("device_unavailable", "--device cpu needs the native onnxruntime (test)");
        return bunHost.loadOrt(device);
      },
      async readFile(path) {
        reads.push(path);
        return bunHost.readFile(path);
      },
    };
    const err = await loadModel(host, MODEL_DIR, { device: "cpu" }).catch((e) => e);
    expect(err.code).toBe("device_unavailable");
    expect(reads.filter((p) => p.endsWith(".onnx"))).toEqual([]);
  });

  test("--device cpu: a session onnxruntime-node refuses names the onnxruntime-node version that ran", async () => {
    const native = await bunHost.loadOrt("wasm"); // any module with the API: only its env and create are read
    const fake = {
      ...native,
      env: { ...native.env, versions: { common: "9.9.9", node: "9.9.9" } },
      InferenceSession: { ...native.InferenceSession, create: async () => { throw new Error("Unsupported model IR version: 11"); } },
    } as unknown as OrtModule;
    const host: Host = { ...bunHost, loadOrt: async (device) => (device === "cpu" ? fake : bunHost.loadOrt(device)) };
    const err = await loadModel(host, MODEL_DIR, { device: "cpu" }).catch((e) => e);
    expect(err.code).toBe("model_invalid");
    expect(err.message).toContain("onnxruntime-node 9.9.9");
    expect(err.message).toContain("Unsupported model IR version: 11");
  });

  test("a folder without the graph file is reported before the runtime starts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgespec-nograph-"));
    try {
      for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) cpSync(join(MODEL_DIR, f), join(dir, f));
      const { host, seen } = watchedHost((create) => create);
      const err = await loadModel(host, dir, { device: "wasm" }).catch((e) => e);
      expect(err.code).toBe("model_file_missing");
      expect(seen.creates).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
