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
import { directWasmRunner } from "../../src/model/direct-run.ts";
import { WasmSessionRunner } from "../../src/model/wasm-session-runner.ts";
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

  test("the past cache lives in the runtime's heap and runs read it in place, also after the heap grows", async () => {
    const ort = await bunHost.loadOrt("wasm");
    const instance = (await bunHost.ortWasmInstance!(ort)) as { _malloc(n: number): number; _free(p: number): void; HEAPU8: Uint8Array };
    const lm = direct.lm;
    const cache = lm.newCache();
    const prompt = Array.from({ length: 300 }, (_, i) => 5 + ((i * 13) % 3000));
    await lm.forward(prompt, prompt.map((_, i) => i), cache);
    const kvBytes = 300 * 2 * lm.spec.numLayers * lm.spec.numKvHeads * lm.spec.headDim * 4;
    // Bytes the runner allocates in the heap during one forward (its inputs' copies).
    const allocated = async (step: () => Promise<unknown>) => {
      const own = Object.getOwnPropertyDescriptor(instance, "_malloc");
      const malloc = instance._malloc;
      let bytes = 0;
      instance._malloc = (n: number) => ((bytes += n), malloc(n));
      try {
        await step();
      } finally {
        if (own) Object.defineProperty(instance, "_malloc", own);
      }
      return bytes;
    };
    expect(await allocated(() => lm.forwardTop!([7], [300], cache, true))).toBeLessThan(kvBytes / 20);
    // Growing the heap makes a new SharedArrayBuffer over the same memory: the cache's views are
    // still read where they lie, and give the rows session.run gives.
    const before = instance.HEAPU8.buffer;
    const big = instance._malloc(256 * 2 ** 20);
    expect(instance.HEAPU8.buffer).not.toBe(before);
    instance._free(big);
    let ids: number[] = [];
    expect(await allocated(async () => (ids = Array.from((await lm.forwardTop!([8, 9], [301, 302], cache, true)).argmax)))).toBeLessThan(kvBytes / 20);
    const other = plain.lm.newCache();
    await plain.lm.forward(prompt, prompt.map((_, i) => i), other);
    await plain.lm.forwardTop!([7], [300], other, true);
    expect(Array.from((await plain.lm.forwardTop!([8, 9], [301, 302], other, true)).argmax)).toEqual(ids);
    cache.release?.();
    other.release?.();
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
