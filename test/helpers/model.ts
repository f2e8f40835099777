/** Loads the reference model once per dtype per test file (sessions are the slow part). */
import { bunHost } from "../../adapters/bun/host.ts";
import type { LoadedModel } from "../../src/model/load.ts";
import { loadModel } from "../../src/model/load.ts";

export const MODEL_DIR = bunHost.defaultModelDir();
const cache = new Map<string, Promise<LoadedModel>>();

export function referenceModel(dtype: "fp32" | "q8" | "q4" = "fp32"): Promise<LoadedModel> {
  let m = cache.get(dtype);
  if (!m) {
    m = loadModel(bunHost, MODEL_DIR, { dtype, device: "wasm" });
    cache.set(dtype, m);
  }
  return m;
}

export const REPO = new URL("../..", import.meta.url).pathname;

/** Runs a command and returns its exit code and output (for CLI and cross-runtime tests). */
export async function run(cmd: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn(cmd, { cwd: REPO, stdout: "pipe", stderr: "pipe", env: { ...process.env, XDG_RUNTIME_DIR: "/tmp", ...env } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

export const BIN = {
  bun: [`${REPO}node_modules/.bin/bun`, `${REPO}adapters/bun/cli.ts`],
  deno: [`${REPO}node_modules/.bin/deno`, "run", "-A", `${REPO}adapters/deno/cli.ts`],
  node: ["node", `${REPO}dist/edgespec-node.mjs`],
};
