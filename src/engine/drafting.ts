/**
 * Turning user-facing drafter options (a name, a corpus path, a saved recycling table) into a
 * Drafter for a loaded model, the same way for the CLI, the server and the bench.
 */
import { CorpusAutomaton, DRAFTER_NAMES, type ManagedDrafter, tokenizerFingerprint } from "../drafters/index.ts";
import { builtinDrafters, type DrafterRegistry } from "../drafters/registry.ts";
import { EdgespecError } from "../errors.ts";
import type { Host } from "../host.ts";
import type { LoadedModel } from "../model/load.ts";
import { initKernels, kernelsReady } from "../drafters/kernels/wasm/loader.ts";

export { DRAFTER_NAMES };

export interface DrafterSetup {
  /** none | recycle | sam | ngram | hybrid */
  name: string;
  /** Static automaton for sam/hybrid (see `loadCorpus`). */
  corpus?: CorpusAutomaton;
  /** A Token Recycling table saved earlier (hot start after a restart). */
  recycleState?: Uint8Array;
}

/** Starts the WASM drafter kernels if the host can give their bytes; says which kernels drafters will use. */
export async function startKernels(host: Host): Promise<"wasm" | "ts"> {
  if (kernelsReady()) return "wasm";
  if (!host.drafterKernels) return "ts";
  try {
    await initKernels(await host.drafterKernels());
    return "wasm";
  } catch {
    return "ts"; // "auto" drafters fall back to the TypeScript twin, which tests hold equal
  }
}

export function fingerprintOf(model: LoadedModel): string {
  return tokenizerFingerprint(model.tokenizer.json);
}

/** A drafter for `model` from `registry` (default: the built-ins), or undefined for "none". */
export function buildDrafter(model: LoadedModel, setup: DrafterSetup, registry: DrafterRegistry = builtinDrafters()): ManagedDrafter | undefined {
  return registry.create(setup.name, {
    vocabSize: model.lm.spec.vocabSize,
    tokenizerFingerprint: fingerprintOf(model),
    ...(setup.corpus ? { corpus: setup.corpus } : {}),
    ...(setup.recycleState ? { savedState: setup.recycleState } : {}),
  });
}

/** The saved table of a drafter that has one (recycle, hybrid), for `--recycle-state`. */
export function recycleStateOf(drafter: ManagedDrafter | undefined): Uint8Array | undefined {
  const d = drafter as { save?: () => Uint8Array } | undefined;
  return typeof d?.save === "function" ? d.save() : undefined;
}

const CORPUS_EXTENSIONS = /\.(txt|md|rst|py|ts|js|mjs|tsx|jsx|json|c|h|rs|go|java|rb|sh|toml|ya?ml|html|css)$/i;
export const SAVED_CORPUS_EXTENSION = ".sam";

/**
 * A static automaton from `path`: a saved automaton (`*.sam`, from `saveCorpus`), one text file,
 * or a folder whose text/code files are tokenized with the model's tokenizer.
 */
export async function loadCorpus(host: Host, model: LoadedModel, path: string): Promise<CorpusAutomaton> {
  const opts = { vocabSize: model.lm.spec.vocabSize, tokenizerFingerprint: fingerprintOf(model) };
  if (await host.isFile(path)) {
    const bytes = await host.readFile(path);
    if (path.endsWith(SAVED_CORPUS_EXTENSION)) return CorpusAutomaton.load(bytes, opts);
    return CorpusAutomaton.build([model.tokenizer.encode(new TextDecoder().decode(bytes), false)], opts);
  }
  if (!(await host.isDirectory(path))) throw new EdgespecError("invalid_argument", `corpus not found: ${path}`);
  if (!host.listFiles) throw new EdgespecError("invalid_argument", `this runtime cannot read folders; pass a file as the corpus`);
  const files = (await host.listFiles(path)).filter((f) => CORPUS_EXTENSIONS.test(f));
  if (files.length === 0) throw new EdgespecError("invalid_argument", `corpus folder ${path} has no text or code files`);
  const docs: number[][] = [];
  for (const f of files) docs.push(model.tokenizer.encode(new TextDecoder().decode(await host.readFile(f)), false));
  return CorpusAutomaton.build(docs, opts);
}
