/** The one esbuild configuration of the web bundles (edge and browser): one ES module, platform browser. */
import { build } from "esbuild";

export function bundleForWeb(entry: string, outfile: string): Promise<unknown> {
  return build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    // Never reached on the wasm path, but referenced by onnxruntime's and the tokenizers' code.
    external: ["node:*"],
    logLevel: "warning",
  });
}
