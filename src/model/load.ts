/**
 * Loads a model directory in the Hugging Face hub layout (config.json, tokenizer files, onnx/*.onnx
 * with optional external data) into a CausalLM on the chosen backend.
 */
import type { InferenceSession } from "onnxruntime-web";
import { startWasmRuntime, threadsPhrase, wasmThreadsFor } from "./ort-env.ts";
import { EdgespecError, isPermissionRefusal } from "../errors.ts";
import type { Host } from "../host.ts";
import { CausalLM, type LanguageModel, type ModelInfo, type TreeAttentionInfo } from "./causal-lm.ts";
import { IO } from "./io-names.ts";
import { readModelSpec } from "./config.ts";
import { DEFAULT_DTYPE, DTYPES, type Dtype, dtypeOfGraph, onnxFileName, parseDtype } from "./dtype.ts";
import { readGenaiConfig } from "./genai-config.ts";
import { checkLayoutAgainstConfig, describeLayout } from "./layout.ts";
import { TextCodec } from "./tokenizer.ts";
import { ShippedDraftAssets } from "./draft-assets.ts";
import { chooseDevice, type DeviceChoice, parseDevice, withFloat16 } from "./device-choice.ts";
import { checkTreeAttention } from "./tree-check.ts";
import { directWasmRunner } from "./direct-run.ts";
import { EMBEDDED_WEIGHTS, externalizeWeights } from "../onnx/external-weights.ts";
import { readGraphIo } from "../onnx/graph-io.ts";
import { DTYPE } from "../onnx/schema.ts";
import { rowwiseActivationQuant } from "../onnx/row-quant.ts";
import { appendOnlyKv } from "../onnx/kv-append.ts";
import { decomposeGroupQueryAttention } from "../onnx/gqa-decompose.ts";
import { UNPACKED_WEIGHTS, unpackNBitsWeights } from "../onnx/nbits-unpack.ts";
import { groupedAttention } from "../onnx/grouped-attention.ts";
import { seqMajorAttention } from "../onnx/seq-major-attention.ts";
import { addLogitsHeads } from "../onnx/logits-heads.ts";
import { addLogitsRows } from "../onnx/logits-rows.ts";
import { addTreeAttention } from "../onnx/tree-attention.ts";
import { kvGatherModel } from "../onnx/kv-gather.ts";

/** The most float32 bytes 4-bit weights are unpacked to on WASM (its heap is 4 GiB in all). */
const MAX_UNPACKED_BYTES = 2 ** 30;

export interface LoadOptions {
  /** Which ONNX file: fp32 (default), fp16, q8, q4, q4f16; checked at run time too (parseDtype), for JavaScript callers. */
  dtype?: Dtype;
  /** auto (default), wasm, webgpu, cpu; checked at run time too (parseDevice), for JavaScript callers. */
  device?: DeviceChoice;
  /**
   * Threads: per session on cpu; on wasm the process's pool, which the first WASM model sets
   * (a later model asking for another count is refused: ort-env.ts). Default: the host's cores, at most 4.
   */
  threads?: number;
  /** Progress lines for people (the CLI prints them on stderr). */
  onProgress?: (message: string) => void;
  /** Progress as data (a progress bar's): weight bytes read, the session being built, ready. */
  onEvent?: (event: LoadEvent) => void;
  /**
   * Add the tree-attention bias input to the graph (default true). Speculative tree verification
   * needs it; without it (or when the graph cannot be rewritten) only chains are verified.
   */
  treeAttention?: boolean;
  /**
   * On wasm, unpack 4-bit MatMulNBits weights to float32 at load (default true, up to 1 GiB
   * unpacked): onnxruntime-web's WASM kernel dequantizes them on every forward, which made a q4
   * model several times slower than its fp32 twin. False keeps them packed (the q4 memory).
   */
  unpackWeights?: boolean;
  /**
   * On webgpu, keep the KV cache in GPU buffers between steps (default true): a step reads back
   * logits (greedy: each row's argmax id, and its top ids where a drafter learns from them), and
   * rollback runs on the GPU. False keeps it in JS memory (copied both ways every step), for
   * comparisons.
   */
  gpuKvCache?: boolean;
}

export type LoadEvent =
  /** After each weight file (the graph, then its external data): bytes read so far of `totalBytes` (when the host knows sizes). */
  | { phase: "read"; file: string; loadedBytes: number; totalBytes?: number }
  /** onnxruntime is building the session (the long part after reading). */
  | { phase: "session"; device: string }
  | { phase: "ready"; loadMs: number };

export interface LoadedModel {
  dir: string;
  lm: LanguageModel;
  tokenizer: TextCodec;
  /** Milliseconds spent loading. */
  loadMs: number;
  /**
   * What the model ships for its drafters, each read the first time it is asked for (by a drafter
   * that uses it: readDraftAssets in engine/drafting.ts), then kept:
   * - `recycleTable()`: a warm Token Recycling table (config.json `edgespec.recycle_table`, a file
   *   in the model folder; tools/warm-table.ts builds one). Drafters with a table start from it
   *   unless they are given saved state, so a one-shot run does not start cold.
   * - `draftCorpus()`: a draft corpus (config.json `edgespec.draft_corpus`, a saved corpus index;
   *   tools/draft-corpus.ts builds one from the model's own continuations), which the suffix
   *   drafters match against when they are given no corpus.
   * Each is undefined when the file is missing, corrupt or built for another tokenizer (an
   * onProgress note says which, when it is read). Absent from a model made by hand (a test's).
   */
  draftAssets?: ShippedDraftAssets;
}

async function readJson(host: Host, path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  if (!(await host.isFile(path))) {
    if (required) throw new EdgespecError("model_file_missing", `model file not found: ${path}`);
    return undefined;
  }
  const text = new TextDecoder().decode(await host.readFile(path));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new EdgespecError("model_invalid", `${path} is not valid JSON`, { cause });
  }
  // Valid JSON that is not an object (null, [], 5, "x") would fail later as a TypeError far from the file.
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const found = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
    throw new EdgespecError("model_invalid", `${path} is not a JSON object (it holds ${found})`);
  }
  return value as Record<string, unknown>;
}

/**
 * The graph file to load: `onnx/model{suffix}.onnx` for the dtype (Optimum / transformers.js
 * layout), else the decoder an onnxruntime-genai folder names (`single`: the folder's only graph).
 */
async function locateGraph(host: Host, dir: string, dtype: Dtype, genaiFile: string | undefined): Promise<{ onnxDir: string; file: string; single: boolean }> {
  const onnxDir = host.join(dir, "onnx");
  if (await host.isFile(host.join(onnxDir, onnxFileName(dtype)))) return { onnxDir, file: onnxFileName(dtype), single: false };
  if (genaiFile !== undefined) {
    if (genaiFile.includes("..") || genaiFile.startsWith("/")) throw new EdgespecError("model_invalid", `genai_config.json names decoder file "${genaiFile}" outside the model folder`);
    if (await host.isFile(host.join(dir, genaiFile))) return { onnxDir: dir, file: genaiFile, single: true };
    throw new EdgespecError("model_file_missing", `genai_config.json names decoder ${genaiFile}, which is not in ${dir}`);
  }
  const have: string[] = [];
  for (const d of DTYPES) if (await host.isFile(host.join(onnxDir, onnxFileName(d)))) have.push(d);
  throw new EdgespecError("model_file_missing", `model file not found: ${host.join(onnxDir, onnxFileName(dtype))} (dtype ${dtype}; this model has: ${have.join(", ") || "none"})`);
}

/** The external data files the graph names (whatever the exporter called them), next to it. */
async function externalData(host: Host, onnxDir: string, file: string, names: readonly string[], onRead: (path: string, bytes: number) => void): Promise<{ path: string; data: Uint8Array }[]> {
  const out: { path: string; data: Uint8Array }[] = [];
  for (const name of names) {
    const path = host.join(onnxDir, name);
    if (name.includes("..") || name.startsWith("/") || !(await host.isFile(path))) {
      throw new EdgespecError("model_file_missing", `${file} keeps weights in external data file "${name}", which is not in ${onnxDir}`);
    }
    out.push({ path: name, data: await host.readFile(path) });
    onRead(path, out.at(-1)!.data.length);
  }
  return out;
}

/** The bytes of these files, if the host can tell every one's size. */
async function totalSize(host: Host, paths: readonly string[]): Promise<number | undefined> {
  if (!host.fileSize) return undefined;
  let total = 0;
  for (const p of paths) {
    const n = await host.fileSize(p);
    if (n === undefined) return undefined;
    total += n;
  }
  return total;
}

function kvAppendOnly(graph: Uint8Array): Uint8Array {
  const r = appendOnlyKv(graph);
  if (!r.rewritten) throw new Error(r.reason); // rewriteOrExplain names the file
  return r.bytes;
}

/** A graph rewrite's parse error is the file's fault: report it as a corrupt model. */
function rewriteOrExplain<T>(path: string, rewrite: () => T): T {
  try {
    return rewrite();
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new EdgespecError("model_invalid", `cannot load ${path} (corrupt or unsupported ONNX): ${why}`, { cause });
  }
}

/** The most threads a model may ask for (onnxruntime-web's pool and a native session's alike). */
export const MAX_THREADS = 256;

export async function loadModel(host: Host, dir: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const t0 = performance.now();
  const say = opts.onProgress ?? (() => {});
  const event = opts.onEvent ?? (() => {});
  const requested = opts.dtype === undefined ? undefined : parseDtype(opts.dtype);
  const deviceChoice = parseDevice(opts.device ?? "auto");
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1 && opts.threads <= MAX_THREADS)) {
    throw new EdgespecError("invalid_argument", `threads must be an integer from 1 to ${MAX_THREADS}, got ${JSON.stringify(opts.threads)}`);
  }
  if (!(await host.isDirectory(dir))) {
    throw new EdgespecError("model_not_found", `model directory not found: ${dir}`);
  }
  const genaiJson = await readJson(host, host.join(dir, "genai_config.json"), false);
  const genai = genaiJson ? readGenaiConfig(genaiJson) : undefined;
  // config.json (Hugging Face) when there is one; an onnxruntime-genai folder may have only genai_config.json.
  const config = await readJson(host, host.join(dir, "config.json"), !genai);
  const genConfig = await readJson(host, host.join(dir, "generation_config.json"), false);
  const spec = config ? readModelSpec(config, genConfig ?? {}) : genai!.spec;
  const tokenizerJson = await readJson(host, host.join(dir, "tokenizer.json"), true);
  const tokenizerConfig = (await readJson(host, host.join(dir, "tokenizer_config.json"), false)) ?? {};
  const jinja = host.join(dir, "chat_template.jinja");
  if (tokenizerConfig.chat_template === undefined && (await host.isFile(jinja))) {
    tokenizerConfig.chat_template = new TextDecoder().decode(await host.readFile(jinja));
  }
  const tokenizer = new TextCodec({ tokenizerJson, tokenizerConfig });
  // Only the names now (a bad one is an error, as the config is): the files are read on first use.
  const draftAssets = ShippedDraftAssets.named(host, dir, config, { fingerprint: tokenizer.fingerprint, vocabSize: spec.vocabSize }, say);

  const where = await locateGraph(host, dir, requested ?? DEFAULT_DTYPE, genai?.filename);
  const { onnxDir, file } = where;
  const onnxPath = host.join(onnxDir, file);
  const chosen = await chooseDevice(host, deviceChoice, say);
  const defaultThreads = Math.max(1, Math.min(4, host.hardwareConcurrency()));
  // The WASM runtime starts now, while the graph is read and rewritten (ort-env.ts); not before the
  // checks above, so a missing file is reported at once, not after the runtime has started.
  let runtime: Promise<unknown> | undefined;
  if (chosen.device === "wasm") {
    const early = await host.loadOrt("wasm");
    wasmThreadsFor(early, opts.threads, defaultThreads);
    runtime = startWasmRuntime(early);
  } else if (chosen.device === "cpu") {
    // onnxruntime-node is an optional package: a missing one is said now, not after the graph is read.
    await host.loadOrt("cpu");
  }
  say(`loading ${onnxPath}${where.single ? "" : ` (${requested ?? DEFAULT_DTYPE})`} on ${chosen.device}…`);
  const fileBytes = await host.readFile(onnxPath);
  const io = rewriteOrExplain(onnxPath, () => readGraphIo(fileBytes));
  let layout = describeLayout(io, spec.slidingWindow);
  const { device, adapter } = withFloat16(chosen, layout.kvType === "float16", deviceChoice, say);
  const ort = await host.loadOrt(device);
  const threads = device === "wasm" ? wasmThreadsFor(ort, opts.threads, defaultThreads) : (opts.threads ?? defaultThreads);
  // Weight bytes: the graph (read) and its external data (next); the total where the host knows sizes.
  const externalSizes = await totalSize(host, layout.externalFiles.map((n) => host.join(onnxDir, n)));
  const totalBytes = externalSizes === undefined ? undefined : fileBytes.length + externalSizes;
  let loadedBytes = fileBytes.length;
  event({ phase: "read", file: onnxPath, loadedBytes, ...(totalBytes === undefined ? {} : { totalBytes }) });
  const onRead = (file: string, bytes: number) => {
    loadedBytes += bytes;
    event({ phase: "read", file, loadedBytes, ...(totalBytes === undefined ? {} : { totalBytes }) });
  };
  // Before ORT sees the graph: a wrong export or config is one line, not a session error.
  checkLayoutAgainstConfig(layout, spec, file);
  let dtype = requested ?? DEFAULT_DTYPE;
  if (where.single) {
    // One graph in the folder: its dtype is what the graph is, and asking for another is an error.
    const actual = dtypeOfGraph(io.ops, layout.kvType === "float16");
    if (requested !== undefined && requested !== actual) {
      throw new EdgespecError("model_file_missing", `${dir} is an onnxruntime-genai folder with one graph, ${file} (${actual}); it has no ${requested} weights`);
    }
    dtype = actual;
  }
  // Weights out of the graph first (external-weights.ts): the rewrites below then copy a graph of
  // kilobytes, and onnxruntime copies each weight once from the file's bytes.
  const embedded = rewriteOrExplain(onnxPath, () => externalizeWeights(fileBytes));
  const weightFiles = [...(await externalData(host, onnxDir, file, layout.externalFiles, onRead)), ...(embedded.moved > 0 ? [{ path: EMBEDDED_WEIGHTS, data: fileBytes }] : [])];
  // On WASM, 4-bit weights unpacked to float32 once (nbits-unpack.ts): onnxruntime-web's WASM
  // MatMulNBits dequantizes every weight on every forward.
  const unpacked = device === "wasm" && opts.unpackWeights !== false ? rewriteOrExplain(onnxPath, () => unpackNBitsWeights(embedded.graph, (p) => weightFiles.find((f) => f.path === p)?.data, MAX_UNPACKED_BYTES)) : undefined;
  if (unpacked?.rewritten) say(`${dtype} weights unpacked to float32 for WASM (${Math.round(unpacked.data.length / 2 ** 20)} MiB): its 4-bit kernel would dequantize them on every forward (--packed-weights keeps them packed)`);
  else if (unpacked?.reason) say(`4-bit weights kept packed (${unpacked.reason}): each forward dequantizes them`);
  const weights: ModelInfo["unpackedWeights"] = unpacked?.rewritten || unpacked?.reason
    ? { layers: unpacked.rewritten, bytes: unpacked.data.length, ...(unpacked.reason ? { kept: unpacked.reason } : {}) }
    : device === "wasm" && io.ops.includes("MatMulNBits")
      ? { layers: 0, bytes: 0, kept: "asked for: --packed-weights, unpackWeights: false" }
      : undefined;
  const original = unpacked?.bytes ?? embedded.graph;
  let treeAttention: TreeAttentionInfo = { enabled: false, reason: "turned off" };
  let bytes = original;
  if (opts.treeAttention !== false && layout.treeBlocker) {
    treeAttention = { enabled: false, reason: layout.treeBlocker };
  } else if (opts.treeAttention !== false) {
    const floatType = layout.kvType === "float16" ? DTYPE.float16 : DTYPE.float;
    const r = rewriteOrExplain(onnxPath, () => addTreeAttention(original, { floatType, positionIds: IO.positionIds }));
    bytes = r.bytes;
    treeAttention = r.rewritten ? { enabled: true, ...(layout.slidingWindow ? { maxContext: layout.slidingWindow } : {}) } : { enabled: false, reason: r.reason };
  }
  // Per-tensor dynamic activation quantization would make a token's logits depend on its batch;
  // the KV cache is passed append-only (kv-cache.ts), whatever the graph computes inside.
  // onnxruntime-web's WebGPU GroupQueryAttention writes present in place over its past input when
  // that is an inner tensor (onnxruntime#32716: "Shape mismatch attempting to re-use buffer"), which
  // the append rewrite's Transpose makes it: such sessions keep the export's own cache I/O.
  // On WebGPU the cache stays on the GPU (gpu-kv-cache.ts), which needs the export's own I/O (present = past + new).
  const gpuKv = device === "webgpu" && opts.gpuKvCache !== false;
  const kvIo = gpuKv || (device === "webgpu" && layout.attention === "GroupQueryAttention") ? "whole" : "append";
  let decomposed: ModelInfo["decomposedAttention"];
  const quantized = (graph: Uint8Array) =>
    rewriteOrExplain(onnxPath, () => {
      // On WASM, GroupQueryAttention in plain ops (gqa-decompose.ts): the kernel is several times
      // slower there for more than one new token (tree verifies, prompt chunks); float32 only.
      let g = graph;
      if (device === "wasm" && layout.kvType !== "float16") {
        const r = decomposeGroupQueryAttention(graph, { headDim: spec.headDim });
        g = r.bytes;
        decomposed = r.rewritten > 0 || r.reason ? { layers: r.rewritten, ...(r.reason ? { kept: r.reason } : {}) } : undefined;
      }
      // GQA without the per-query-head copies of the cache (grouped-attention.ts), where config says the head counts.
      if (spec.numHeads) g = groupedAttention(g, { numHeads: spec.numHeads, numKvHeads: spec.numKvHeads }).bytes;
      // The last row, each row's top-k and argmax as outputs of their own (logits-heads.ts): prefills
      // fetch the first two, greedy steps the last two, and neither copies the logits.
      // The vocabulary projection over the rows asked for (logits-rows.ts): a prefill without
      // candidates projects its last row only.
      g = addLogitsHeads(addLogitsRows(g).bytes).bytes;
      if (kvIo === "append") g = kvAppendOnly(g);
      // Attention reads that cache sequence-major, with no head-major copy (seq-major-attention.ts):
      // FusedMatMul is a kernel of the CPU provider (WASM and native), not of WebGPU's.
      if (kvIo === "append" && device !== "webgpu") g = seqMajorAttention(g).bytes;
      return rowwiseActivationQuant(g);
    });
  const rowQuant = quantized(bytes);
  const int8Activations = rowQuant.rewritten > 0;
  if (int8Activations) say(`int8 activations (${dtype}): speculative output can differ from plain output at rare near ties; fp32/q4 are exact`);
  const options: InferenceSession.SessionOptions = {
    executionProviders: [device],
    // Native CPU threads are per session (wasm threads are the process's: ort-env.ts).
    // ORT's warnings (e.g. "some nodes were not assigned to the preferred EP") are noise for users;
    // sessions log through their own options, so no process-wide log level is touched.
    logSeverityLevel: 3,
    ...(device === "cpu" ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    graphOptimizationLevel: "all",
    ...(gpuKv ? { preferredOutputLocation: Object.fromEntries(io.outputs.filter((o) => o.name.startsWith("present.")).map((o) => [o.name, "gpu-buffer" as const])) } : {}),
    externalData: [...weightFiles, ...(unpacked?.rewritten ? [{ path: UNPACKED_WEIGHTS, data: unpacked.data }] : [])],
  };
  const create = async (graph: Uint8Array): Promise<InferenceSession> => {
    try {
      // A runtime that failed to start fails this session as it would have failed to start it.
      const failed = await runtime;
      if (failed !== undefined) throw failed;
      return await ort.InferenceSession.create(graph, options);
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause);
      const refused = permissionRefusal(cause, why);
      if (refused) throw refused;
      // The native package is the user's install, of any version: a failure says which one ran
      // (README names the one edgespec is tested with).
      const native = device === "cpu" && ort.env?.versions?.node ? `; onnxruntime-node ${ort.env.versions.node}` : "";
      throw new EdgespecError("model_invalid", `cannot load ${onnxPath} (corrupt or unsupported ONNX${native}): ${why.split("\n")[0]}`, { cause });
    }
  };
  let session: InferenceSession;
  event({ phase: "session", device });
  try {
    session = await create(rowQuant.bytes);
  } catch (err) {
    if (bytes === original) throw err;
    // This onnxruntime build refuses the rewritten graph (e.g. an op schema without the inputs the
    // rewrite feeds): the original graph, verified in chains, is still exact.
    session = await create(quantized(original).bytes);
    const cause = (err as EdgespecError).cause;
    treeAttention = { enabled: false, reason: `onnxruntime rejected the tree-attention graph: ${(cause instanceof Error ? cause.message : String(cause)).split("\n")[0]}` };
    bytes = original;
  }
  if (bytes !== original && session.inputNames.includes(IO.positionIds)) layout = { ...layout, positions: "input" };
  layout = { ...layout, kvIo };
  const kvGather = gpuKv ? await ort.InferenceSession.create(kvGatherModel(2 * spec.numLayers, layout.kvType === "float16" ? DTYPE.float16 : DTYPE.float), { executionProviders: ["webgpu"], preferredOutputLocation: "gpu-buffer" }) : undefined;
  // On webgpu the WASM pool was sized by the adapter or by onnxruntime-web's default, not here.
  const poolThreads = device === "webgpu" ? Number(ort.env.wasm.numThreads) || 1 : threads;
  const info: Omit<ModelInfo, "treeAttention"> = { backend: device, ...(adapter ? { adapter } : {}), dtype, threads: poolThreads, file: onnxPath, inputNames: session.inputNames, layout, int8Activations, kvCache: gpuKv ? ("gpu" as const) : ("cpu" as const), ...(decomposed ? { decomposedAttention: decomposed } : {}), ...(weights ? { unpackedWeights: weights } : {}) };
  // On WASM, sessions run through the runtime's C API where the host reaches it (~10-20% a forward).
  const runner = device === "wasm" ? await directWasmRunner(host, ort, session, (r) => new CausalLM(ort, session, spec, { ...info, treeAttention }, kvGather, r)) : undefined;
  if (device === "wasm") info.runs = runner ? "c-api" : "session.run";
  let lm = new CausalLM(ort, session, spec, { ...info, treeAttention }, kvGather, runner);
  if (treeAttention.enabled && layout.attention !== "decomposed") {
    // Fused ops take the tree through optional inputs a backend's kernel may ignore: check.
    const check = await checkTreeAttention(lm);
    if (!check.ok) {
      treeAttention = { enabled: false, reason: `the ${device} kernel for ${layout.attention} ignores the tree's positions or attention bias (a tree node's logits differ from its path's by ${check.worst.toPrecision(3)})` };
      lm = new CausalLM(ort, session, spec, { ...info, treeAttention }, kvGather, runner);
    }
  }
  if (device === "cpu" && layout.kvType === "float16") await probeFloat16Inputs(lm);
  if (!treeAttention.enabled) say(`tree attention unavailable (${treeAttention.reason}): speculative steps will verify one chain`);
  const loadMs = performance.now() - t0;
  event({ phase: "ready", loadMs });
  say(`loaded in ${(loadMs / 1000).toFixed(1)}s (${spec.modelType}, ${spec.numLayers} layers, vocab ${spec.vocabSize}, ${dtype} on ${device}, ${threadsPhrase(poolThreads)})`);
  return { dir, lm, tokenizer, loadMs, draftAssets };
}

/**
 * A session that failed because the runtime refused a read (Deno without --allow-read for
 * onnxruntime-web's own .wasm: its "no available backend found … Aborted(NotCapable: Requires read
 * access to "…")") is no fault of the model: a permission_denied error naming what could not be
 * read, not "corrupt or unsupported ONNX".
 */
function permissionRefusal(cause: unknown, why: string): EdgespecError | undefined {
  if (!isPermissionRefusal(cause) && !/\bNotCapable\b|Requires read access/.test(why)) return undefined;
  const path = /Requires read access to "([^"]+)"/.exec(why)?.[1];
  const what = path ? `${path} (onnxruntime's WebAssembly)` : `a file onnxruntime needs (${why.split("\n")[0]})`;
  return new EdgespecError("permission_denied", `Deno may not read ${what}: run with --allow-read (or -A)`, { cause });
}

/**
 * onnxruntime-node reads a float16 input through N-API, and Bun's and Deno's N-API do not size a
 * Float16Array (the second step, fed the first's KV cache, fails with "not enough space"); Node's
 * does. Two tokens at load say which, so a user gets a clear error rather than a failed request.
 */
async function probeFloat16Inputs(lm: LanguageModel): Promise<void> {
  try {
    const cache = lm.newCache();
    await lm.forward([0], [0], cache);
    await lm.forward([0], [1], cache);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new EdgespecError("device_unavailable", `this runtime cannot pass float16 tensors to the native onnxruntime (${why}); use --device wasm, an fp32 model, or Node`, { cause });
  }
}
