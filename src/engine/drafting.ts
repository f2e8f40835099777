/**
 * Drafter pieces for a loaded model: one drafter by name (a fresh one; src/setup.ts keeps the
 * shared ones a served model uses), a static corpus from a path, a drafter's saved state.
 */
import { CorpusAutomaton, DRAFTER_NAMES, type ManagedDrafter, tokenizerFingerprint, tsKernels } from "../drafters/index.ts";
import { builtinDrafters, type DrafterRegistry } from "../drafters/registry.ts";
import { EdgespecError } from "../errors.ts";
import type { Host } from "../host.ts";
import type { LoadedModel } from "../model/load.ts";
import type { KernelSet } from "../drafters/kernels/index.ts";

export { DRAFTER_NAMES };

export interface DrafterSetup {
  /** none | recycle | sam | ngram | hybrid */
  name: string;
  /** Static automaton for sam/hybrid (see `loadCorpus`). */
  corpus?: CorpusAutomaton;
  /** A Token Recycling table saved earlier (hot start after a restart). */
  recycleState?: Uint8Array;
  /** Kernels it runs on (default: TypeScript). */
  kernels?: KernelSet;
}

export function fingerprintOf(model: LoadedModel): string {
  return tokenizerFingerprint(model.tokenizer.json);
}

/** A drafter for `model` from `registry` (default: the built-ins), or undefined for "none". */
export function buildDrafter(model: LoadedModel, setup: DrafterSetup, registry: DrafterRegistry = builtinDrafters()): ManagedDrafter | undefined {
  return registry.create(setup.name, {
    vocabSize: model.lm.spec.vocabSize,
    kernels: setup.kernels ?? tsKernels,
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

export interface CorpusLoadOptions {
  /** Kernels the automaton is built on (default: TypeScript). */
  kernels?: KernelSet;
  /** After each file is tokenized: bytes of text so far, of the total. */
  onFile?: (file: string, loadedBytes: number, totalBytes: number) => void;
}

/**
 * A static automaton from `path`: a saved automaton (`*.sam`, from `saveCorpus`), one text file,
 * or a folder whose text/code files are tokenized with the model's tokenizer.
 */
export async function loadCorpus(host: Host, model: LoadedModel, path: string, opts: CorpusLoadOptions = {}): Promise<CorpusAutomaton> {
  const automaton = { vocabSize: model.lm.spec.vocabSize, tokenizerFingerprint: fingerprintOf(model), ...(opts.kernels ? { kernels: opts.kernels } : {}) };
  const onFile = opts.onFile ?? (() => {});
  if (await host.isFile(path)) {
    const bytes = await host.readFile(path);
    if (path.endsWith(SAVED_CORPUS_EXTENSION)) return CorpusAutomaton.load(bytes, automaton);
    const ids = model.tokenizer.encode(new TextDecoder().decode(bytes), false);
    onFile(path, bytes.length, bytes.length);
    return CorpusAutomaton.build([ids], automaton);
  }
  if (!(await host.isDirectory(path))) throw new EdgespecError("invalid_argument", `corpus not found: ${path}`);
  if (!host.listFiles) throw new EdgespecError("invalid_argument", `this runtime cannot read folders; pass a file as the corpus`);
  const files = (await host.listFiles(path)).filter((f) => CORPUS_EXTENSIONS.test(f));
  if (files.length === 0) throw new EdgespecError("invalid_argument", `corpus folder ${path} has no text or code files`);
  const sizes = await Promise.all(files.map(async (f) => (await host.fileSize?.(f)) ?? 0));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const docs: number[][] = [];
  let loadedBytes = 0;
  for (const f of files) {
    const bytes = await host.readFile(f);
    docs.push(model.tokenizer.encode(new TextDecoder().decode(bytes), false));
    loadedBytes += bytes.length;
    onFile(f, loadedBytes, Math.max(totalBytes, loadedBytes));
  }
  return CorpusAutomaton.build(docs, automaton);
}
