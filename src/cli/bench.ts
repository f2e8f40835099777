/**
 * `edgespec bench`: plain vs speculative decoding on the bench suite (bench/prompts.json), every
 * drafter in the same run, per workload; prints a markdown table (or the JSON report).
 */
import { type BenchPrompt, benchMarkdown, firstPerWorkload, runSpeculativeBench } from "../benchmark/speculative.ts";
import { buildDrafter, DRAFTER_NAMES, readDraftAssets } from "../engine/drafting.ts";
import { EdgespecError } from "../errors.ts";
import type { Host } from "../host.ts";
import { type FlagSpec, parseFlags, usage } from "./args.ts";
import type { CliIO, CliRuntime } from "./io.ts";
import { flagsForHelp, MODEL_FLAGS, setUpFrom } from "./model-flags.ts";

const BENCH_FLAGS: FlagSpec = {
  ...MODEL_FLAGS,
  prompts: { type: "string", help: "prompt suite JSON ({prompts: [{id, workload, prompt}]})", default: "bench/prompts.json" },
  drafters: { type: "string", help: "comma-separated drafters", default: "recycle,sam,ngram,hybrid" },
  "max-tokens": { type: "int", short: "n", help: "new tokens per prompt", default: "128", min: 1 },
  limit: { type: "int", help: "first N prompts of each workload", min: 1 },
  repeats: { type: "int", help: "passes over the suite (medians and ranges over passes)", default: "3", min: 1 },
  json: { type: "boolean", help: "print the JSON report" },
  help: { type: "boolean", help: "show this help" },
};

export async function benchCommand(host: Host, argv: string[], io: CliIO, rt: CliRuntime = {}): Promise<number> {
  const f = parseFlags(argv, BENCH_FLAGS);
  if (f.help) {
    io.out(usage("bench", flagsForHelp(host, BENCH_FLAGS, rt)));
    return 0;
  }
  const drafters = ((f.drafters as string | undefined) ?? "recycle,sam,ngram,hybrid").split(",").filter(Boolean);
  // An empty list would run the whole suite plain only, a bench with nothing to compare.
  if (drafters.length === 0) throw new EdgespecError("invalid_argument", `--drafters names no drafter, got "${f.drafters as string}"`, { validOptions: DRAFTER_NAMES.filter((x) => x !== "none") });
  for (const d of drafters) {
    if (!(DRAFTER_NAMES as readonly string[]).includes(d) || d === "none") {
      throw new EdgespecError("invalid_argument", `unknown drafter "${d}" in --drafters`, { validOptions: DRAFTER_NAMES.filter((x) => x !== "none") });
    }
  }
  const path = (f.prompts as string | undefined) ?? host.join(host.defaultModelDir(), "..", "..", "bench", "prompts.json");
  if (!(await host.isFile(path))) throw new EdgespecError("invalid_argument", `prompt suite not found: ${path}`);
  let prompts: BenchPrompt[];
  try {
    prompts = (JSON.parse(new TextDecoder().decode(await host.readFile(path))) as { prompts: BenchPrompt[] }).prompts;
    if (!Array.isArray(prompts) || prompts.some((p) => typeof p.prompt !== "string" || typeof p.workload !== "string")) throw new Error("shape");
  } catch {
    throw new EdgespecError("invalid_argument", `${path} is not a prompt suite ({"prompts": [{"id", "workload", "prompt"}]})`);
  }
  if (f.limit !== undefined) prompts = firstPerWorkload(prompts, f.limit as number);
  if (prompts.length === 0) throw new EdgespecError("invalid_argument", `${path} holds no prompts`);
  // Each pass gets fresh drafters (makeDrafter), on the kernels the setup chose.
  const setup = await setUpFrom(host, f, io, { drafter: "none" }, rt);
  const { model, kernels } = setup;
  try {
    io.err(`drafter kernels: ${kernels.name}\n`);
    // The model's shipped table and corpus, which these drafters start from, are read on first use.
    for (const name of drafters) await readDraftAssets(model, { name, kernels });
    const report = await runSpeculativeBench(model, prompts, {
      drafters,
      makeDrafter: (name) => buildDrafter(model, { name, kernels })!,
      maxTokens: (f["max-tokens"] as number | undefined) ?? 128,
      repeats: (f.repeats as number | undefined) ?? 3,
      onProgress: (l) => io.err(`${l}\n`),
    });
    io.out(f.json ? `${JSON.stringify(report)}\n` : `${benchMarkdown(report)}\n\nmean speedup over workloads: ${JSON.stringify(report.meanSpeedup)}\n`);
    return 0;
  } finally {
    await setup.close();
  }
}
