/**
 * Memory of a process that loads a model and generates: peak RSS while loading and after 64
 * tokens of hybrid decoding, per model and dtype, each in a fresh process (Linux /proc), beside
 * the runtime's own floor (onnxruntime-web with a one-node session) and the weights' size. Not a
 * test: figures depend on the runtime and its allocator.
 *
 *   bun bench/memory.ts [--repeats 3]
 *
 * Writes bench/results/memory.json and .md, and the table between README's
 * `<!-- bench:memory:start/end -->` markers.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { bunHost } from "../adapters/bun/host.ts";
import { parseFlags } from "../src/cli/args.ts";
import { median } from "../src/engine/curve-fit.ts";
import { graphInput, valueInfo } from "../src/onnx/graph-nodes.ts";
import { bytesField, concat, stringField, varintField } from "../src/onnx/protobuf.ts";
import { DTYPE, GRAPH, MODEL, nodeField } from "../src/onnx/schema.ts";
import { generate } from "../src/engine/speculative.ts";
import { parseDtype } from "../src/model/dtype.ts";
import { setUp } from "../src/setup.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const mib = (kb: number) => Math.round(kb / 1024);
const status = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync("/proc/self/status", "utf8"))![1]);

if (process.argv[2] === "--child") {
  const [model, dtype] = process.argv.slice(3);
  const out: Record<string, number> = { start: mib(status("VmRSS")) };
  if (model === "floor") {
    // onnxruntime-web loaded and one session of one Identity node: what any model pays first.
    const ort = await bunHost.loadOrt("wasm");
    ort.env.wasm.numThreads = Math.max(1, Math.min(4, bunHost.hardwareConcurrency()));
    await ort.InferenceSession.create(identityModel(), { executionProviders: ["wasm"] });
    out.loaded = mib(status("VmRSS"));
    out.loadPeak = mib(status("VmHWM"));
  } else {
    // "q4 packed": the 4-bit weights as the file has them (unpackWeights: false), not unpacked to float32.
    const packed = dtype!.endsWith(" packed");
    const setup = await setUp(bunHost, { model, dtype: parseDtype(dtype!.replace(" packed", "")), device: "wasm", drafter: "hybrid", ...(packed ? { unpackWeights: false } : {}) });
    out.loaded = mib(status("VmRSS"));
    out.loadPeak = mib(status("VmHWM"));
    await generate(setup.model, "def fibonacci(n):", { maxTokens: 64, stopAtEos: false, drafter: setup.drafter("hybrid") });
    out.generated = mib(status("VmRSS"));
    out.peak = mib(status("VmHWM"));
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}

/** A ModelProto with one Identity node (float [1] in and out), opset 13. */
function identityModel(): Uint8Array {
  const graph = concat([nodeField("Identity", ["x"], ["y"], "identity"), stringField(2, "g"), graphInput("x", DTYPE.float, [1]), bytesField(GRAPH.output, valueInfo("y", DTYPE.float, [1]))]);
  return concat([varintField(1, 8), bytesField(MODEL.graph, graph), bytesField(MODEL.opsetImport, concat([stringField(1, ""), varintField(2, 13)]))]);
}

const flags = parseFlags(process.argv.slice(2), { repeats: { type: "int", help: "" } });
const repeats = (flags.repeats as number) ?? 3;
const CONFIGS: [string, string, string][] = [
  ["floor", "", ""],
  ["edgespec-tiny", "q4", "onnx/model_q4.onnx"],
  ["edgespec-tiny", "q4 packed", "onnx/model_q4.onnx"],
  ["edgespec-tiny", "fp32", "onnx/model.onnx"],
  ["edgespec-small", "fp32", "onnx/model.onnx"],
];
const rows: Record<string, unknown>[] = [];
for (const [model, dtype, file] of CONFIGS) {
  const runs: Record<string, number>[] = [];
  for (let r = 0; r < repeats; r++) {
    const child = spawnSync(process.execPath, [import.meta.path, "--child", model, dtype], { encoding: "utf8" });
    if (child.status !== 0) throw new Error(`${model} ${dtype}: ${child.stderr}`);
    runs.push(JSON.parse(child.stdout.trim().split("\n").at(-1)!));
  }
  const m = (k: string) => (runs[0]![k] === undefined ? undefined : Math.round(median(runs.map((x) => x[k]!))));
  const weights = file ? Math.round(statSync(`${ROOT}models/${model}/${file}`).size / 2 ** 20) : 0;
  rows.push({ model, dtype, weightsMiB: weights, startMiB: m("start"), loadedMiB: m("loaded"), loadPeakMiB: m("loadPeak"), generatedMiB: m("generated"), peakMiB: m("peak") });
  console.error(JSON.stringify(rows.at(-1)));
}

const runtime = `bun ${Bun.version}`;
const date = new Date().toISOString();
writeFileSync(`${ROOT}bench/results/memory.json`, JSON.stringify({ runtime, date, repeats, rows }, null, 2) + "\n");
const md = `RSS in MiB (${runtime}, wasm, ${repeats} fresh processes each, medians; ${date.slice(0, 10)}). "floor": onnxruntime-web with a one-node session, what every model pays first. q4: its 4-bit weights unpacked to float32 at load (WASM's default); "q4 packed": kept as the file has them (\`unpackWeights: false\`).

| model | weights file | after load | peak while loading | after 64 tokens (hybrid) | peak |
| --- | --- | --- | --- | --- | --- |
${rows.map((r) => `| ${r.model}${r.dtype ? ` ${r.dtype}` : ""} | ${r.weightsMiB} | ${r.loadedMiB} | ${r.loadPeakMiB} | ${r.generatedMiB ?? "–"} | ${r.peakMiB ?? r.loadPeakMiB} |`).join("\n")}
`;
writeFileSync(`${ROOT}bench/results/memory.md`, md);
console.log(md);
const readmeUrl = new URL("../README.md", import.meta.url);
const readme = readFileSync(readmeUrl, "utf8");
const [start, end] = ["<!-- bench:memory:start -->", "<!-- bench:memory:end -->"];
if (readme.includes(start)) writeFileSync(readmeUrl, readme.slice(0, readme.indexOf(start) + start.length) + "\n" + md + readme.slice(readme.indexOf(end)));
