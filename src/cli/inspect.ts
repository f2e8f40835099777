/**
 * `edgespec inspect`: what edgespec makes of a model directory, before anyone decodes with it —
 * the config's numbers, the ONNX files present per dtype, the graph's layout (KV dtype, how
 * positions enter, logits-to-keep, external data) and whether tree verification is available, and
 * if not, why. It loads the chosen file for real, so what it says is what generate and serve get.
 */
import { LOGITS_ROWS } from "../onnx/logits-rows.ts";
import type { Host } from "../host.ts";
import { DTYPES, onnxFileName } from "../model/dtype.ts";
import type { LoadedModel } from "../model/load.ts";
import { threadsPhrase } from "../model/ort-env.ts";
import { type FlagSpec, parseFlags, usage } from "./args.ts";
import type { CliIO, CliRuntime } from "./io.ts";
import { flagsForHelp, MODEL_FLAGS, setUpFrom } from "./model-flags.ts";

export const INSPECT_FLAGS: FlagSpec = {
  ...MODEL_FLAGS,
  json: { type: "boolean", help: "print one JSON object" },
  help: { type: "boolean", help: "show this help" },
};

export interface InspectReport {
  dir: string;
  modelType: string;
  layers: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  contextLength: number;
  /** dtype -> file, for the files present under onnx/. */
  files: Record<string, string>;
  loaded: { file: string; dtype: string; backend: string; adapter: string | null; threads: number | null; kvCache: string; runs: string | null };
  kvType: string;
  /** decomposed (MatMul/Softmax) or the fused op (GroupQueryAttention, ...). */
  attention: string;
  /** Fused GQA layers written out in plain ops at load (WASM), and why any were kept fused. */
  decomposedAttention: { layers: number; kept: string | null } | null;
  slidingWindow: number | null;
  /** 4-bit weights unpacked to float32 at load (WASM): how many MatMuls, their float32 bytes, why any stayed packed. */
  unpackedWeights: { layers: number; bytes: number; kept: string | null } | null;
  /** "input": the graph takes position_ids; "added": the tree rewrite added it; "from-mask": derived in the graph. */
  positions: "input" | "added" | "from-mask";
  logitsToKeep: string | null;
  /** How a forward limits its logits to the rows it needs: the export's keep-count input, our rows input (logits-rows.ts), or not at all. */
  logitsRows: "keep-count" | "rows-input" | "every-row";
  externalData: string[];
  treeVerify: { available: boolean; reason: string | null };
  exact: boolean;
  inputs: string[];
}

export function inspectReport(model: LoadedModel, files: Record<string, string>): InspectReport {
  const { spec, info } = model.lm;
  return {
    dir: model.dir,
    modelType: spec.modelType,
    layers: spec.numLayers,
    kvHeads: spec.numKvHeads,
    headDim: spec.headDim,
    vocabSize: spec.vocabSize,
    contextLength: spec.contextLength,
    files,
    loaded: { file: info.file, dtype: info.dtype, backend: info.backend, adapter: info.adapter ?? null, threads: info.threads ?? null, kvCache: info.kvCache ?? "cpu", runs: info.runs ?? null },
    kvType: info.layout.kvType,
    attention: info.layout.attention,
    decomposedAttention: info.decomposedAttention ? { layers: info.decomposedAttention.layers, kept: info.decomposedAttention.kept ?? null } : null,
    slidingWindow: info.layout.slidingWindow ?? null,
    unpackedWeights: info.unpackedWeights ? { layers: info.unpackedWeights.layers, bytes: info.unpackedWeights.bytes, kept: info.unpackedWeights.kept ?? null } : null,
    positions: info.layout.positions === "from-mask" ? "from-mask" : info.layout.inputs.some((v) => v.name === "position_ids") ? "input" : "added",
    logitsToKeep: info.layout.logitsToKeep ?? null,
    logitsRows: info.layout.logitsToKeep ? "keep-count" : info.inputNames.includes(LOGITS_ROWS) ? "rows-input" : "every-row",
    externalData: [...info.layout.externalFiles],
    treeVerify: { available: info.treeAttention.enabled, reason: info.treeAttention.reason ?? null },
    exact: !info.int8Activations,
    inputs: info.layout.inputs.map((v) => v.name),
  };
}

const LOGITS = {
  "keep-count": "trimmed by $KEEP: every row for a verify, the last rows for a prompt (those the drafter learns from)",
  "rows-input": "the rows asked for (a Gather before the lm_head): every row for a verify, the last rows for a prompt",
  "every-row": "every row (the graph's logits do not come straight from a MatMul: nothing trimmed)",
} as const;

const POSITIONS = {
  input: "position_ids input (each tree node gets its own)",
  added: "derived from attention_mask in the graph; the tree rewrite added a position_ids input",
  "from-mask": "derived from attention_mask inside the graph",
} as const;

function attentionNote(d: NonNullable<InspectReport["decomposedAttention"]>): string {
  if (d.layers === 0) return `kept fused on wasm: ${d.kept}`;
  return `${d.layers} layers run as plain ops here: the WASM kernel is slow for several new tokens${d.kept ? `; others kept fused: ${d.kept}` : ""}`;
}

function weightsLine(w: NonNullable<InspectReport["unpackedWeights"]>): string {
  if (w.layers === 0) return `4-bit, kept packed (${w.kept}): every forward dequantizes them`;
  return `4-bit, unpacked to float32 at load for ${w.layers} MatMuls (${Math.round(w.bytes / 2 ** 20)} MiB), which the WASM kernel would dequantize on every forward${w.kept ? `; others kept packed: ${w.kept}` : ""}`;
}

function text(r: InspectReport): string {
  const kv = r.inputs.filter((n) => n.startsWith("past_key_values.")).length;
  const rows: [string, string][] = [
    ["model", r.dir],
    ["family", `${r.modelType}: ${r.layers} layers, ${r.kvHeads} KV heads x ${r.headDim}, vocab ${r.vocabSize}, context ${r.contextLength}`],
    ["files", Object.entries(r.files).map(([d, f]) => `${d} ${f}`).join(", ") || "none"],
    ["loaded", `${r.loaded.file} (${r.loaded.dtype}) on ${r.loaded.backend}${r.loaded.adapter ? ` (${r.loaded.adapter})` : ""}${r.loaded.threads ? `, ${threadsPhrase(r.loaded.threads)}` : ""}${r.loaded.runs ? `, runs through ${r.loaded.runs === "c-api" ? "the runtime's C API" : "session.run"}` : ""}, KV cache in ${r.loaded.kvCache === "gpu" ? "GPU buffers" : "JS memory"}`],
    ...(r.unpackedWeights ? [["weights", weightsLine(r.unpackedWeights)] as [string, string]] : []),
    ["inputs", `${r.inputs.filter((n) => !n.startsWith("past_key_values.")).join(", ")} + ${kv} KV inputs`],
    ["kv cache", r.kvType],
    ["attention", `${r.attention}${r.decomposedAttention ? ` (${attentionNote(r.decomposedAttention)})` : ""}${r.slidingWindow ? `, sliding window ${r.slidingWindow} (trees while the context fits it, chains after)` : ""}`],
    ["positions", POSITIONS[r.positions]],
    ["logits", LOGITS[r.logitsRows].replace("$KEEP", r.logitsToKeep ?? "")],
    ["ext data", r.externalData.join(", ") || "none (weights in the graph file)"],
    ["tree verify", r.treeVerify.available ? "yes" : `no: ${r.treeVerify.reason} (speculation verifies one chain per step)`],
    ["exact", r.exact ? "yes: speculative output is plain output token for token" : "no: int8 activations can flip rare near ties (README, Exactness)"],
  ];
  return `${rows.map(([k, v]) => `${k.padEnd(13)}${v}`).join("\n")}\n`;
}

export async function inspectCommand(host: Host, argv: string[], io: CliIO, rt: CliRuntime = {}): Promise<number> {
  const f = parseFlags(argv, INSPECT_FLAGS);
  if (f.help) {
    io.out(usage("inspect", flagsForHelp(host, INSPECT_FLAGS, rt)));
    return 0;
  }
  const setup = await setUpFrom(host, f, io, { drafter: "none", kernels: "ts" }, rt);
  const { model } = setup;
  try {
    const onnxDir = host.join(model.dir, "onnx");
    const files: Record<string, string> = {};
    for (const d of DTYPES) if (await host.isFile(host.join(onnxDir, onnxFileName(d)))) files[d] = onnxFileName(d);
    // A one-graph folder (onnxruntime-genai): the graph loaded is the file there is.
    if (Object.keys(files).length === 0) files[model.lm.info.dtype] = model.lm.info.file.slice(model.dir.length).replace(/^[\/]+/, "");
    const report = inspectReport(model, files);
    io.out(f.json ? `${JSON.stringify(report)}\n` : text(report));
    return 0;
  } finally {
    await setup.close();
  }
}
