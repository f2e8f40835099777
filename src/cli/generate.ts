/** `edgespec generate`: one prompt in, text (or a JSON record with ids and stats) out. */
import { EdgespecError } from "../errors.ts";
import type { Host } from "../host.ts";
import { DRAFTER_NAMES, recycleStateOf } from "../engine/drafting.ts";
import { builtinDrafters } from "../drafters/registry.ts";
import { generate } from "../engine/speculative.ts";
import { PARAM_DEFAULTS as D } from "../decode/params.ts";
import { checkSampling, type SamplingOptions } from "../decode/sampler.ts";
import { DECIMAL_INTEGER, type FlagSpec, flagFailure, parseFlags, usage } from "./args.ts";
import type { CliIO, CliRuntime } from "./io.ts";
import { CORPUS_FLAG, flagsForHelp, MODEL_FLAGS, setUpFrom } from "./model-flags.ts";

export const GENERATE_FLAGS: FlagSpec = {
  ...MODEL_FLAGS,
  ...CORPUS_FLAG,
  prompt: { type: "string", short: "p", help: "prompt text (also: the first bare argument, or standard input)" },
  "prompt-file": { type: "string", help: "read the prompt from a file" },
  "max-tokens": { type: "int", short: "n", help: "new tokens at most", default: String(D.maxTokens) },
  temperature: { type: "number", short: "t", help: "0 = greedy, up to 2", default: String(D.temperature) },
  "top-k": { type: "int", help: "sample from the k most likely tokens (0 = off)", default: String(D.topK) },
  "top-p": { type: "number", help: "nucleus sampling mass, 0 to 1 (0: the most likely token alone, as greedy)", default: String(D.topP) },
  "min-p": { type: "number", help: "drop tokens below min-p x the top probability (0 = off)", default: String(D.minP) },
  "repetition-penalty": { type: "number", help: "penalise prompt and output tokens (1 = off)", default: String(D.repetitionPenalty) },
  "presence-penalty": { type: "number", help: "subtract from tokens already in the output, -2..2", default: String(D.presencePenalty) },
  "frequency-penalty": { type: "number", help: "subtract per occurrence in the output, -2..2", default: String(D.frequencyPenalty) },
  seed: { type: "int", help: "sampling seed (reproducible output)" },
  stop: { type: "string", help: "stop string" },
  drafter: { type: "string", short: "d", help: DRAFTER_NAMES.join("|"), default: "hybrid" },
  budget: { type: "string", help: "draft tree nodes per step: auto or a number", default: "auto" },
  "recycle-state": { type: "string", help: "Token Recycling table file: loaded if present, saved after (hot start)" },
  "prediction-file": { type: "string", help: "text the output is expected to copy (Predicted Outputs: drafted first, only verified)" },
  json: { type: "boolean", help: "print one JSON object: text, tokens, stats" },
  help: { type: "boolean", help: "show this help" },
};

export async function generateCommand(host: Host, argv: string[], io: CliIO, rt: CliRuntime = {}): Promise<number> {
  const f = parseFlags(argv, GENERATE_FLAGS, { positional: "prompt" });
  if (f.help) {
    io.out(usage("generate", flagsForHelp(host, GENERATE_FLAGS, rt), "[PROMPT]   (or the prompt on standard input: echo … | edgespec generate)"));
    return 0;
  }
  if (f.prompt !== undefined && f["prompt-file"] !== undefined) {
    throw new EdgespecError("invalid_argument", "give one prompt: PROMPT (or --prompt TEXT), --prompt-file FILE, or standard input");
  }
  let prompt = f.prompt as string | undefined;
  if (prompt === undefined && f["prompt-file"] === undefined) {
    // Piped input is the prompt; on a terminal nothing is read (a hang waiting for input helps no one).
    const piped = await io.stdin?.();
    if (!piped) throw new EdgespecError("invalid_argument", "give a prompt: PROMPT, --prompt TEXT, --prompt-file FILE, or pipe it to standard input");
    prompt = piped;
  }
  if (prompt === undefined) {
    const path = f["prompt-file"] as string;
    if (!(await host.isFile(path))) throw new EdgespecError("invalid_argument", `prompt file not found: ${path}`);
    prompt = new TextDecoder().decode(await host.readFile(path));
  }
  const predictionPath = f["prediction-file"] as string | undefined;
  if (predictionPath !== undefined && !(await host.isFile(predictionPath))) throw new EdgespecError("invalid_argument", `prediction file not found: ${predictionPath}`);
  const drafterName = (f.drafter as string | undefined) ?? "hybrid";
  const budget = parseBudget(f.budget as string | undefined);
  const sampling: SamplingOptions & { maxTokens?: number } = {
    maxTokens: f["max-tokens"] as number | undefined,
    temperature: f.temperature as number | undefined,
    topK: f["top-k"] as number | undefined,
    topP: f["top-p"] as number | undefined,
    minP: f["min-p"] as number | undefined,
    repetitionPenalty: f["repetition-penalty"] as number | undefined,
    presencePenalty: f["presence-penalty"] as number | undefined,
    frequencyPenalty: f["frequency-penalty"] as number | undefined,
    seed: f.seed as number | undefined,
  };
  checkSampling(sampling, flagFailure); // before the model loads: a bad flag is one line at once
  const statePath = f["recycle-state"] as string | undefined;
  if (statePath !== undefined) {
    // Checked before the model loads and generates: the table is saved after, where a bad path would lose the run's table.
    const parent = statePath.includes("/") ? statePath.slice(0, statePath.lastIndexOf("/")) || "/" : ".";
    if (!(await host.isDirectory(parent))) throw new EdgespecError("invalid_argument", `--recycle-state: directory not found: ${parent}`);
    // A folder there would be found only at the save, after the whole run, as the rename's raw error (EBUSY).
    if (await host.isDirectory(statePath)) throw new EdgespecError("invalid_argument", `--recycle-state: ${statePath} is a directory; give a file`);
    // A drafter without the table would ignore the file when it is absent and refuse it when present: refused either way, at once.
    const registry = builtinDrafters();
    registry.check(drafterName);
    if (!registry.maker(drafterName)?.savesState) {
      const keepers = registry.names.filter((n) => registry.maker(n)?.savesState);
      throw new EdgespecError("invalid_argument", `--recycle-state: drafter "${drafterName}" keeps no Token Recycling table (${keepers.join(" and ")} do)`);
    }
    if (!host.writeFile) throw new EdgespecError("not_ready", "--recycle-state: this runtime cannot write files");
  }
  const savedState = statePath && (await host.isFile(statePath)) ? await host.readFile(statePath) : undefined;
  const setup = await setUpFrom(host, f, io, {
    drafter: drafterName,
    ...(savedState ? { savedState } : {}),
  }, rt);
  const { model } = setup;
  try {
    const drafter = setup.drafter(drafterName);
    const prediction = predictionPath === undefined ? undefined : model.tokenizer.encodePlain(new TextDecoder().decode(await host.readFile(predictionPath)));
    const result = await generate(model, prompt, {
      prediction,
      ...sampling,
      stop: f.stop === undefined ? undefined : [f.stop as string],
      drafter,
      budget,
      onText: f.json ? undefined : (t) => io.out(t),
    });
    const saved = statePath ? recycleStateOf(drafter) : undefined;
    if (statePath && saved) {
      if (!host.writeFile) throw new EdgespecError("not_ready", "this runtime cannot write files");
      await host.writeFile(statePath, saved);
    }
    const stats = { ...result.stats, kernels: drafter ? setup.kernels.name : undefined };
    if (f.json) {
      io.out(`${JSON.stringify({ text: result.text, tokens: result.tokens, finishReason: result.finishReason, stats })}\n`);
    } else {
      io.out("\n");
      const spec = drafter || prediction ? `, ${stats.drafter}: ${stats.meanAcceptedLength} tokens/step` : "";
      // tok/s is decoding's (as --json, the server and the bench count it): the first token comes with the prefill.
      io.err(`${stats.tokens} tokens in ${stats.seconds}s (prefill ${Math.round(stats.prefillMs)} ms, then ${stats.tokensPerSecond} tok/s; ${stats.backend}, ${stats.dtype}${spec})\n`);
    }
    return 0;
  } finally {
    await setup.close();
  }
}

function parseBudget(v: string | undefined): number | "auto" {
  if (v === undefined || v === "auto") return "auto";
  const n = Number(v);
  if (!DECIMAL_INTEGER.test(v) || !Number.isSafeInteger(n) || n < 0) throw new EdgespecError("invalid_argument", `--budget must be "auto" or an integer >= 0, got "${v}"`);
  return n;
}
