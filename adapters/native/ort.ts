/**
 * onnxruntime-node (N-API, native CPU kernels) for `--device cpu` on Bun, Deno and Node. It is an
 * optional peer dependency: onnxruntime-web stays the default and the only backend of the edge
 * bundle and browsers, so a missing native package is a clear error, not an install failure.
 */
import { EdgespecError } from "../../src/errors.ts";
import type { OrtModule } from "../../src/host.ts";

// A variable specifier keeps bundlers (the edge bundle, `bun build --compile`) from pulling the
// native addon in; it is resolved at run time from the user's node_modules.
const NATIVE_PACKAGE = "onnxruntime-node";

export async function loadNativeOrt(): Promise<OrtModule> {
  let mod: unknown;
  try {
    mod = await import(NATIVE_PACKAGE);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    throw new EdgespecError("device_unavailable", `--device cpu needs the native onnxruntime (npm install onnxruntime-node@1.30.0): ${why}`, { cause });
  }
  // CommonJS under Node's ESM import: the API is on `default`.
  const m = mod as OrtModule & { default?: OrtModule };
  return (m.InferenceSession ? m : m.default!) as OrtModule;
}
