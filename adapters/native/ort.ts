/**
 * onnxruntime-node (N-API, native CPU kernels) for `--device cpu` on Bun, Deno and Node. It is an
 * optional peer dependency: onnxruntime-web stays the default and the only backend of the edge
 * bundle and browsers, so a missing native package is a clear error, not an install failure.
 */
import { EdgespecError, isPermissionRefusal } from "../../src/errors.ts";
import type { OrtModule } from "../../src/host.ts";

// A variable specifier keeps bundlers (the edge bundle, `bun build --compile`) from pulling the
// native addon in; it is resolved at run time from the user's node_modules.
const NATIVE_PACKAGE = "onnxruntime-node";

/** `importer` stands in for the dynamic import (tests). */
export async function loadNativeOrt(importer: (specifier: string) => Promise<unknown> = (s) => import(s)): Promise<OrtModule> {
  let mod: unknown;
  try {
    mod = await importer(NATIVE_PACKAGE);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    // Deno without --allow-ffi refuses to load the installed addon (NotCapable): installing it again
    // would not help.
    if (isPermissionRefusal(cause)) {
      const addon = /access to "([^"]+)"/.exec(why)?.[1];
      throw new EdgespecError("permission_denied", `--device cpu: Deno may not load onnxruntime-node's native addon${addon ? ` (${addon})` : ""}: run with --allow-ffi (or -A)`, { cause });
    }
    throw new EdgespecError("device_unavailable", `--device cpu needs the native onnxruntime (npm install onnxruntime-node@1.30.0): ${why}`, { cause });
  }
  // CommonJS under Node's ESM import: the API is on `default`.
  const m = mod as OrtModule & { default?: OrtModule };
  return (m.InferenceSession ? m : m.default!) as OrtModule;
}
