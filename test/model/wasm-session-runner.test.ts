/**
 * WASM sessions run through onnxruntime's C API (src/model/wasm-session-runner.ts) where the host
 * reaches the runtime's instance: the same outputs as `session.run`, bit for bit, and
 * `session.run` wherever that cannot be shown.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { InferenceSession } from "onnxruntime-web";
import { bunHost } from "../../adapters/bun/host.ts";
import type { LanguageModel } from "../../src/model/causal-lm.ts";
import { type LoadedModel, loadModel } from "../../src/model/load.ts";
import { directWasmRunner, WasmSessionRunner } from "../../src/model/wasm-session-runner.ts";
import { MODEL_DIR } from "../helpers/model.ts";

let direct: LoadedModel;
let plain: LoadedModel;

beforeAll(async () => {
  direct = await loadModel(bunHost, MODEL_DIR, { device: "wasm" });
  plain = await loadModel({ ...bunHost, ortWasmInstance: undefined }, MODEL_DIR, { device: "wasm" });
});

afterAll(async () => {
  await direct?.lm.dispose();
  await plain?.lm.dispose();
});

/** The session and runner behind a loaded model (what the loader gave its CausalLM). */
function internals(model: LoadedModel): { session: InferenceSession; runner?: WasmSessionRunner } {
  return model.lm as unknown as { session: InferenceSession; runner?: WasmSessionRunner };
}

/** Logits of a prompt, then of a 5-node tree over it (with its bias), then of the chosen path's continuation. */
async function rows(lm: LanguageModel): Promise<Float32Array[]> {
  const cache = lm.newCache();
  const out: Float32Array[] = [];
  const prompt = Array.from({ length: 40 }, (_, i) => 5 + ((i * 37) % 3000));
  out.push(await lm.forward(prompt, prompt.map((_, i) => i), cache));
  // Root, two children, a grandchild under each: positions by depth, each row sees its ancestors.
  const parents = [-1, 0, 0, 1, 2];
  const depth = [0, 1, 1, 2, 2];
  const total = prompt.length + parents.length;
  const bias = new Float32Array(parents.length * total).fill(-Infinity);
  for (let i = 0; i < parents.length; i++) {
    for (let j = 0; j < prompt.length; j++) bias[i * total + j] = 0;
    for (let a = i; a >= 0; a = parents[a]!) bias[i * total + prompt.length + a] = 0;
  }
  out.push(await lm.forward([11, 12, 13, 14, 15], depth.map((d) => prompt.length + d), cache, { attentionBias: bias }));
  cache.keep([...prompt.keys(), prompt.length, prompt.length + 1, prompt.length + 3]);
  out.push(await lm.forward([16, 17], [prompt.length + 3, prompt.length + 4], cache));
  cache.release?.();
  return out;
}

describe("WASM sessions through the C API", () => {
  test("the Bun host's WASM models run through the C API; a host without the instance keeps session.run", () => {
    expect(direct.lm.info.runs).toBe("c-api");
    expect(internals(direct).runner).toBeInstanceOf(WasmSessionRunner);
    expect(plain.lm.info.runs).toBe("session.run");
    expect(internals(plain).runner).toBeUndefined();
  });

  test("prompt, tree and rollback rows equal session.run's, bit for bit", async () => {
    const [a, b] = [await rows(direct.lm), await rows(plain.lm)];
    expect(a.length).toBe(3);
    for (let i = 0; i < a.length; i++) {
      expect(a[i]!.length).toBe(b[i]!.length);
      expect(Buffer.from(a[i]!.buffer, a[i]!.byteOffset, a[i]!.byteLength).equals(Buffer.from(b[i]!.buffer, b[i]!.byteOffset, b[i]!.byteLength))).toBe(true);
    }
  });

  test("greedy ids equal session.run's over a decode", async () => {
    const decode = async (lm: LanguageModel) => {
      const cache = lm.newCache();
      const ids: number[] = [];
      let tok = 7;
      await lm.forward([1, 5, 9], [0, 1, 2], cache);
      for (let i = 0; i < 24; i++) {
        tok = (await lm.forwardTop!([tok], [3 + i], cache, true)).argmax[0]!;
        ids.push(tok);
      }
      cache.release?.();
      return ids;
    };
    expect(await decode(direct.lm)).toEqual(await decode(plain.lm));
  });

  test("an input the session refuses is onnxruntime's error, and the runner goes on", async () => {
    const runner = internals(direct).runner!;
    const ort = await bunHost.loadOrt("wasm");
    const bad = { input_ids: new ort.Tensor("int64", new BigInt64Array([1n, 2n]), [1, 2]) };
    expect(() => runner.run(bad, ["edgespec_argmax_ids"])).toThrow(/ERROR_MESSAGE: .+/);
    const [a, b] = [await rows(direct.lm), await rows(plain.lm)];
    expect(Array.from(a[2]!.subarray(0, 8))).toEqual(Array.from(b[2]!.subarray(0, 8)));
  });

  test("attach refuses an instance or a session that is not what it was written for", async () => {
    const ort = await bunHost.loadOrt("wasm");
    const session = internals(plain).session;
    expect(WasmSessionRunner.attach(ort, undefined, session)).toBeUndefined();
    expect(WasmSessionRunner.attach(ort, { HEAPU8: new Uint8Array(8) }, session)).toBeUndefined();
    const instance = await bunHost.ortWasmInstance!(ort);
    expect(instance).toBeDefined();
    expect(WasmSessionRunner.attach(ort, { ...(instance as object), PTR_SIZE: 8 }, session)).toBeUndefined();
    expect(WasmSessionRunner.attach(ort, instance, {} as InferenceSession)).toBeUndefined();
  });

  test("the loader keeps session.run when a forward through the runner differs", async () => {
    const ort = await bunHost.loadOrt("wasm");
    const session = internals(plain).session;
    // A model whose forward through the runner gives other logits (what a runtime the runner
    // misreads would give): the probe must refuse the runner.
    const lmWith = (runner?: WasmSessionRunner): LanguageModel => ({
      ...plain.lm,
      newCache: () => plain.lm.newCache(),
      forward: async (t, p, c) => {
        const logits = await plain.lm.forward(t, p, c);
        if (runner) logits[0] = logits[0]! + 1;
        return logits;
      },
    });
    expect(await directWasmRunner(bunHost, ort, session, lmWith)).toBeUndefined();
    const same = await directWasmRunner(bunHost, ort, session, () => plain.lm);
    expect(same).toBeInstanceOf(WasmSessionRunner);
    same!.dispose();
  });
});
