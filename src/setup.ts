/**
 * The one setup path: options in, a model ready to generate out (its session, the kernels its
 * drafters run on, and its drafters: one of each name, made on first use and shared by the
 * generations on this model, so what one request teaches them speeds up the next). The CLI's
 * commands, the server (in its worker or its own thread), the edge handler and the library all
 * set models up here, and everything a model depends on is in the value returned: two models with
 * different devices, dtypes, kernels or drafters live side by side in one process.
 */
import { CorpusIndex, type ManagedDrafter } from "./drafters/index.ts";
import { type KernelChoice, type KernelSet, loadWasmKernels, parseKernels, tsKernels } from "./drafters/kernels/index.ts";
import { builtinDrafters, type DrafterRegistry } from "./drafters/registry.ts";
import { checkCorpusPath, loadCorpus } from "./engine/corpus.ts";
import { buildDrafter, type DrafterSetup, readDraftAssets } from "./engine/drafting.ts";
import { EdgespecError } from "./errors.ts";
import type { Host } from "./host.ts";
import { type LoadedModel, loadModel, type LoadOptions } from "./model/load.ts";
import { resolveModelDir } from "./model/shipped.ts";
import { inProcessRunner, type ModelRunner } from "./server/model-runner.ts";

/**
 * Load progress: `read` after each weight file (bytes so far of the total, where the runtime can
 * tell file sizes), `session` while onnxruntime builds the session, `corpus` after each file of a
 * drafter corpus is tokenized, `note` for a line meant for people (a fallback taken), `ready`
 * once the model and its default drafter are ready.
 */
export interface ProgressEvent {
  phase: "read" | "session" | "corpus" | "note" | "ready";
  message: string;
  file?: string;
  loadedBytes?: number;
  totalBytes?: number;
}

/** The options that are plain data (what a model worker is sent). */
export type SetupData = Pick<SetupOptions, "model" | "dtype" | "device" | "threads" | "unpackWeights" | "kernels" | "drafter" | "corpus">;

export interface SetupOptions extends Omit<LoadOptions, "onProgress" | "onEvent"> {
  /** A model folder, or a shipped model's name; default: the host's default model. */
  model?: string;
  /** Where drafter names are found: builtinDrafters() (default), to which your own can be added. */
  drafters?: DrafterRegistry;
  /** The drafter made at setup (its name, corpus and saved state are checked before the model loads); default "hybrid". */
  drafter?: string;
  /** Drafter kernels: `auto` (default) = WASM where the runtime gives the binary, else TypeScript. */
  kernels?: KernelChoice;
  /** A static corpus for drafters that declare they use one: a text file, a folder, or a saved `.escorpus` (one built from text is saved beside it and reused). */
  corpus?: string;
  /** A saved table for drafters that declare they save state (Token Recycling's hot start). */
  savedState?: Uint8Array;
  onProgress?: (event: ProgressEvent) => void;
}

export interface ModelSetup {
  /** The model folder, resolved. */
  readonly dir: string;
  readonly model: LoadedModel;
  /** The kernel set every drafter of this model runs on. */
  readonly kernels: KernelSet;
  /** Names `drafter()` accepts ("none" first). */
  readonly drafterNames: readonly string[];
  /** The setup's drafter name (SetupOptions.drafter). */
  readonly defaultDrafter: string;
  /**
   * This model's drafter of that name (made once), or undefined for "none": the default drafter,
   * or one made by loadDrafter (another one whose shipped assets were not read is not_ready).
   */
  drafter(name: string): ManagedDrafter | undefined;
  /** drafter(name), after reading the model's shipped assets it starts from (once per model). */
  loadDrafter(name: string): Promise<ManagedDrafter | undefined>;
  /** This model run in this thread, as the server runs models; closing it closes the setup. */
  /**
   * This model as a server's runner. `prepare`: time the verify cost curve now when the default
   * drafter drafts (the first requests' trees are then sized on a whole, warm curve, not one
   * learned from their own steps); only for an owner whose runs all go through
   * this runner, since its forwards must not overlap another caller's on the same session.
   */
  runner(opts?: { view?: (model: LoadedModel) => LoadedModel; yieldToEventLoop?: boolean; prepare?: boolean }): ModelRunner;
  /** Frees the drafters and the session (idempotent). */
  close(): Promise<void>;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Checks what can be checked without the model: the drafter name, that it takes a corpus or saved state given, the kernels. */
function checkChoices(registry: DrafterRegistry, name: string, opts: SetupOptions): void {
  registry.check(name, { corpus: opts.corpus !== undefined, savedState: opts.savedState !== undefined });
  if (opts.kernels !== undefined) parseKernels(opts.kernels);
}

/** The kernel set for `choice`: a fresh WASM instance for this model, or the TypeScript twin (tests hold them equal). */
export async function chooseKernels(host: Host, choice: KernelChoice, note: (m: string) => void = () => {}): Promise<KernelSet> {
  if (choice === "ts") return tsKernels;
  if (!host.drafterKernels) {
    if (choice === "wasm") throw new EdgespecError("not_ready", `this runtime (${host.runtime}) gives no WASM drafter kernels; use kernels "ts" or "auto"`);
    return tsKernels;
  }
  try {
    return await loadWasmKernels(await host.drafterKernels());
  } catch (cause) {
    if (choice === "wasm") throw cause;
    note(`WASM drafter kernels unavailable (${(cause as Error).message}); using the TypeScript kernels`);
    return tsKernels;
  }
}

export async function setUp(host: Host, opts: SetupOptions = {}): Promise<ModelSetup> {
  const { model: name, drafters: registry = builtinDrafters(), drafter: defaultDrafter = "hybrid", kernels: choice = "auto", corpus: corpusPath, savedState, onProgress, ...load } = opts;
  const emit = onProgress ?? (() => {});
  const note = (message: string) => emit({ phase: "note", message });
  checkChoices(registry, defaultDrafter, opts);
  // A corpus that is neither a file nor a folder was found only after the model had loaded
  // (seconds on edgespec-small): loadCorpus's first check, before the load.
  if (corpusPath !== undefined) await checkCorpusPath(host, corpusPath);
  const dir = await resolveModelDir(host, name);
  const model = await loadModel(host, dir, {
    ...load,
    onProgress: note,
    onEvent: (e) => {
      if (e.phase === "read") emit({ ...e, message: `read ${e.file} (${mb(e.loadedBytes)}${e.totalBytes ? ` of ${mb(e.totalBytes)}` : ""})` });
      else if (e.phase === "session") emit({ phase: "session", message: `building the ${e.device} session…` });
    },
  });
  try {
    const kernels = await chooseKernels(host, choice, note);
    const corpus: CorpusIndex | undefined =
      corpusPath === undefined
        ? undefined
        : await loadCorpus(host, model, corpusPath, {
            onNote: note,
            onFile: (file, loadedBytes, totalBytes) => emit({ phase: "corpus", message: `corpus: ${file}`, file, loadedBytes, totalBytes }),
          });
    const made = new Map<string, ManagedDrafter | undefined>();
    // The corpus and saved state go to the drafters that declare they use them.
    const setupOf = (drafterName: string): DrafterSetup => {
      const maker = registry.maker(drafterName);
      return { name: drafterName, kernels, ...(maker?.usesCorpus ? { corpus } : {}), ...(maker?.savesState ? { recycleState: savedState } : {}) };
    };
    let closed: Promise<void> | undefined;
    const setup: ModelSetup = {
      dir,
      model,
      kernels,
      drafterNames: registry.names,
      defaultDrafter,
      drafter(drafterName) {
        if (closed) throw new EdgespecError("not_ready", "this model is closed");
        if (!made.has(drafterName)) made.set(drafterName, buildDrafter(model, setupOf(drafterName), registry));
        return made.get(drafterName);
      },
      async loadDrafter(drafterName) {
        if (!closed && !made.has(drafterName)) await readDraftAssets(model, setupOf(drafterName), registry);
        return setup.drafter(drafterName);
      },
      runner({ view, yieldToEventLoop, prepare } = {}) {
        const inner = inProcessRunner(view ? view(model) : model, { drafterFor: (n) => setup.loadDrafter(n), prepare: !!prepare && defaultDrafter !== "none", ...(yieldToEventLoop === undefined ? {} : { yieldToEventLoop }) });
        return {
          facts: inner.facts,
          run: (job, signal, onText) => inner.run(job, signal, onText),
          // Not while the curve's forwards may still run on the session.
          close: () => inner.prepared.then(() => setup.close()),
        };
      },
      close() {
        closed ??= (async () => {
          for (const d of made.values()) d?.dispose();
          made.clear();
          await model.lm.dispose();
        })();
        return closed;
      },
    };
    // A drafter that fails to build fails the setup, not the first request; a shipped asset it
    // starts from that is bad is noted now, too.
    await setup.loadDrafter(defaultDrafter);
    emit({ phase: "ready", message: `${dir} ready (${model.lm.info.backend}, ${model.lm.info.dtype}, ${kernels.name} kernels, drafter ${defaultDrafter})` });
    return setup;
  } catch (err) {
    await model.lm.dispose();
    throw err;
  }
}
