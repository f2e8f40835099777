/**
 * Deno with --allow-read for the model folder but not for onnxruntime-web's own .wasm: the run
 * fails for a permission, not for the model. It printed Emscripten's two raw lines ("failed to
 * asynchronously prepare wasm", "Aborted(NotCapable …)") and then "cannot load …/model.onnx
 * (corrupt or unsupported ONNX): no available backend found", blaming the model.
 */
import { expect, test } from "bun:test";
import { bunHost } from "../../adapters/bun/host.ts";
import { loadNativeOrt } from "../../adapters/native/ort.ts";
import { isEdgespecError } from "../../src/errors.ts";
import type { OrtModule } from "../../src/host.ts";
import { loadModel } from "../../src/model/load.ts";
import { BIN, MODEL_DIR, run } from "../helpers/model.ts";

test("Deno CLI reading the model but not onnxruntime's .wasm: one permission line naming the file and --allow-read", async () => {
  for (const device of ["wasm", "auto"]) {
    const r = await run([BIN.deno[0]!, "run", "--allow-env", `--allow-read=${MODEL_DIR}`, BIN.deno[3]!, "generate", "--model", MODEL_DIR, "--device", device, "-p", "x"]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/Aborted\(|failed to asynchronously prepare wasm|corrupt or unsupported ONNX/);
    // auto may first say the adapter it found is a software fallback; the error is then the one line after it.
    const lines = r.stderr.trim().split("\n").filter((l) => !/^WebGPU adapter /.test(l));
    expect(lines).toEqual([expect.stringMatching(/^edgespec: error: Deno may not read \S+\/onnxruntime-web\/dist\/ort-wasm-simd-threaded(\.jsep)?\.wasm \(onnxruntime's WebAssembly\): run with --allow-read \(or -A\)$/)]);
  }
}, 60_000);

test("a session refused a read (any host) is permission_denied naming the file, not a corrupt model", async () => {
  const refusal = new Error(`no available backend found. ERR: [wasm] RuntimeError: Aborted(NotCapable: Requires read access to "/x/ort-wasm-simd-threaded.wasm", run again with the --allow-read flag). Build with -sASSERTIONS for more info.`);
  const real = await bunHost.loadOrt("wasm");
  const ort = { ...real, env: real.env, InferenceSession: { create: () => Promise.reject(refusal) } } as unknown as OrtModule;
  const host = { ...bunHost, loadOrt: async () => ort };
  const err = await loadModel(host, MODEL_DIR, { device: "wasm", dtype: "fp32" }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isEdgespecError(err) && err.code).toBe("permission_denied");
  expect((err as Error).message).toBe(`Deno may not read /x/ort-wasm-simd-threaded.wasm (onnxruntime's WebAssembly): run with --allow-read (or -A)`);
});

// --device cpu loads onnxruntime-node's N-API addon, which Deno allows only with --allow-ffi; the
// refusal was reported as "--device cpu needs the native onnxruntime (npm install …)", although it
// is installed and installing it again changes nothing.
test("Deno CLI on --device cpu without --allow-ffi: one permission line naming --allow-ffi, not an install hint", async () => {
  const r = await run([BIN.deno[0]!, "run", "--allow-env", "--allow-read", "--allow-sys", BIN.deno[3]!, "generate", "--model", MODEL_DIR, "--device", "cpu", "-p", "x"]);
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split("\n").filter((l) => !/^loading /.test(l));
  expect(lines).toEqual([expect.stringMatching(/^edgespec: error: --device cpu: Deno may not load onnxruntime-node's native addon \(\S+\/onnxruntime_binding\.node\): run with --allow-ffi \(or -A\)$/)]);
}, 60_000);

test("the native onnxruntime: a runtime's refusal is permission_denied (--allow-ffi); a missing package names the install", async () => {
  const refused = await loadNativeOrt(() => Promise.reject(Object.assign(new Error('Requires ffi access to "/n/onnxruntime_binding.node", run again with the --allow-ffi flag'), { name: "NotCapable" }))).then(() => undefined, (e: unknown) => e);
  expect(isEdgespecError(refused) && refused.code).toBe("permission_denied");
  expect((refused as Error).message).toBe("--device cpu: Deno may not load onnxruntime-node's native addon (/n/onnxruntime_binding.node): run with --allow-ffi (or -A)");
  const missing = await loadNativeOrt(() => Promise.reject(new Error("Cannot find package 'onnxruntime-node' imported from /x/ort.ts"))).then(() => undefined, (e: unknown) => e);
  expect(isEdgespecError(missing) && missing.code).toBe("device_unavailable");
  expect((missing as Error).message).toBe("--device cpu needs the native onnxruntime (npm install onnxruntime-node@1.30.0): Cannot find package 'onnxruntime-node' imported from /x/ort.ts");
});
