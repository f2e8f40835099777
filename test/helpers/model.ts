/**
 * Loads the reference model once per dtype per test file (sessions are the slow part), its shipped
 * table and corpus read as setUp reads those of the drafter it makes, so a test builds any drafter on it.
 */
import { bunHost } from "../../adapters/bun/host.ts";
import type { LoadedModel } from "../../src/model/load.ts";
import { loadModel } from "../../src/model/load.ts";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { REFERENCE_MODEL } from "../../src/model/shipped.ts";
import { toFloat16 } from "./graph-surgery.ts";

/** The reference model (edgespec-tiny): every test's fixture; the CLI's default is edgespec-small. */
export const MODEL_DIR = fileURLToPath(new URL(`../../models/${REFERENCE_MODEL}`, import.meta.url));
const cache = new Map<string, Promise<LoadedModel>>();

/**
 * `fp16`: the reference graph converted whole to float16 (graph-surgery.ts toFloat16), in a temp
 * folder. `cpu`: onnxruntime-node's native kernels instead of onnxruntime-web's wasm.
 */
export function referenceModel(dtype: "fp32" | "q8" | "q4" | "fp16" = "fp32", device: "wasm" | "cpu" = "wasm"): Promise<LoadedModel> {
  const key = `${dtype}/${device}`;
  let m = cache.get(key);
  if (!m) {
    m = (dtype === "fp16" ? float16Reference(device) : loadModel(bunHost, MODEL_DIR, { dtype, device })).then(withDraftAssets);
    cache.set(key, m);
  }
  return m;
}

/** `model` with every shipped draft asset read, so buildDrafter can make any drafter on it (setUp reads only the default drafter's). */
export async function withDraftAssets(model: LoadedModel): Promise<LoadedModel> {
  await model.draftAssets?.read(model.draftAssets.names);
  return model;
}

async function float16Reference(device: "wasm" | "cpu"): Promise<LoadedModel> {
  const dir = mkdtempSync(join(tmpdir(), "edgespec-fp16-"));
  cpSync(MODEL_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
  writeFileSync(join(dir, "onnx", "model_fp16.onnx"), toFloat16(await bunHost.readFile(`${MODEL_DIR}/onnx/model.onnx`)));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return loadModel(bunHost, dir, { dtype: "fp16", device });
}

/**
 * A copy of the reference model's folder (its small files copied, its fp32 graph linked) that
 * `edit` changes (damages) before it is loaded; the load's progress lines go to `notes`. The
 * folder is removed at exit.
 */
export async function loadEditedReference(edit: (dir: string) => void, notes: string[]): Promise<{ dir: string; model: LoadedModel }> {
  const dir = mkdtempSync(join(tmpdir(), "edgespec-edited-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  cpSync(MODEL_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
  symlinkSync(join(MODEL_DIR, "onnx", "model.onnx"), join(dir, "onnx", "model.onnx"));
  edit(dir);
  return { dir, model: await loadModel(bunHost, dir, { device: "wasm", onProgress: (m) => notes.push(m) }) };
}

export const REPO = new URL("../..", import.meta.url).pathname;

/** Runs a command and returns its exit code and output (for CLI and cross-runtime tests). */
export async function run(cmd: string[], env: Record<string, string> = {}, cwd = REPO): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, XDG_RUNTIME_DIR: "/tmp", ...env } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

let nodeBuild: Promise<void> | undefined;
/**
 * The Node bundle (dist/edgespec-node.mjs and its worker), built once per test process as
 * `npm run build` makes it: Node runs no TypeScript, and a test must not depend on another test
 * file having built it first.
 */
export function nodeBundle(): Promise<void> {
  nodeBuild ??= run([`${REPO}node_modules/.bin/bun`, "run", "build"]).then((b) => {
    if (b.code !== 0) throw new Error(`npm run build failed: ${b.stderr}`);
  });
  return nodeBuild;
}

export const BIN = {
  bun: [`${REPO}node_modules/.bin/bun`, `${REPO}adapters/bun/cli.ts`],
  deno: [`${REPO}node_modules/.bin/deno`, "run", "-A", `${REPO}adapters/deno/cli.ts`],
  node: ["node", `${REPO}dist/edgespec-node.mjs`],
};
