/**
 * Drafters by name. The built-ins are registered the way a user's drafter is: a maker that builds
 * a `Drafter` (propose a tree, observe what was verified) for a model, and declares what it can
 * use (a static corpus, a saved state) instead of being probed for it. A registry is a value:
 * make one, add to it, hand it to `open`, the server or buildDrafter; nothing is global.
 *
 *   const drafters = builtinDrafters().register("mine", { create: (ctx) => new MyDrafter(ctx.vocabSize) });
 *   const lm = await open({ drafters, drafter: "mine" });
 */
import { EdgespecError } from "../errors.ts";
import type { CorpusIndex } from "./corpus-index.ts";
import type { KernelSet } from "./kernels/index.ts";
import { HybridDrafter } from "./hybrid.ts";
import { NgramDrafter } from "./ngram.ts";
import { SuffixAutomatonDrafter } from "./suffix-automaton.ts";
import { TokenRecyclingDrafter } from "./token-recycling.ts";
import type { Drafter, ManagedDrafter } from "./types.ts";

/** What a maker is given: the model's numbers, and what the user supplied for drafters that declared they use it. */
export interface DrafterMakeContext {
  vocabSize: number;
  /** The kernel set this model's drafters share (TypeScript or one WASM instance); a maker may ignore it. */
  kernels: KernelSet;
  /** Identity of the tokenizer: saved state made for another one must be refused. */
  tokenizerFingerprint: string;
  corpus?: CorpusIndex;
  savedState?: Uint8Array;
}

export interface DrafterMaker {
  create(ctx: DrafterMakeContext): Drafter;
  /** Takes a static corpus (`--corpus`). */
  usesCorpus?: boolean;
  /** Has a state worth saving across restarts: its drafters have `save()`, and `savedState` restores it. */
  savesState?: boolean;
  /** Its saved state is a Token Recycling table: with none given, it starts from the model's warm table (`LoadedModel.recycleTable`). */
  recyclingTable?: boolean;
}

const NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** A user's drafter as the engine's owners handle drafters: memory reported (0 if unknown), dispose a no-op unless it has one. */
function managed(d: Drafter, registered: string): ManagedDrafter {
  const m = d as Partial<ManagedDrafter> & { save?: () => Uint8Array };
  const named = typeof d.name === "string" && d.name !== "";
  if (typeof m.memoryBytes === "function" && typeof m.dispose === "function" && named) return d as ManagedDrafter;
  // Delegates, so the user's object stays the one whose state changes; messages and stats name it
  // as registered when it names itself nothing.
  return {
    get name() {
      return named ? d.name : registered;
    },
    get sourceNames() {
      return d.sourceNames;
    },
    get candidatesPerRow() {
      return d.candidatesPerRow;
    },
    reset: (prompt) => d.reset(prompt),
    propose: (budget) => d.propose(budget),
    observe: (update) => d.observe(update),
    memoryBytes: () => (typeof m.memoryBytes === "function" ? m.memoryBytes.call(d) : 0),
    dispose: () => (typeof m.dispose === "function" ? m.dispose.call(d) : undefined),
    ...(typeof m.save === "function" ? { save: () => m.save!.call(d) } : {}),
  };
}

export class DrafterRegistry {
  private readonly makers = new Map<string, DrafterMaker>();

  /** Adds a drafter under `name` ("none" is plain decoding and cannot be taken). Returns the registry. */
  register(name: string, maker: DrafterMaker): this {
    if (!NAME.test(name)) throw new EdgespecError("invalid_argument", `a drafter name is lower-case letters, digits, - and _ (at most 32), got "${name}"`);
    if (name === "none" || this.makers.has(name)) throw new EdgespecError("invalid_argument", `a drafter named "${name}" is already registered`);
    if (typeof maker?.create !== "function") throw new EdgespecError("invalid_argument", `drafter "${name}": its maker needs a create(ctx) function`);
    this.makers.set(name, maker);
    return this;
  }

  /** "none" first, then in registration order. */
  get names(): readonly string[] {
    return ["none", ...this.makers.keys()];
  }

  maker(name: string): DrafterMaker | undefined {
    return this.makers.get(name);
  }

  /** Throws unless `name` is known and takes the inputs given (checked before a model loads, and again at create). */
  check(name: string, given: { corpus?: boolean; savedState?: boolean } = {}): void {
    if (!this.names.includes(name)) throw new EdgespecError("invalid_argument", `unknown drafter "${name}"`, { validOptions: this.names });
    const maker = this.makers.get(name);
    if (given.corpus && !maker?.usesCorpus) {
      const takers = [...this.makers].filter(([, m]) => m.usesCorpus).map(([n]) => n);
      throw new EdgespecError("invalid_argument", `a corpus is used by the ${takers.join(" and ")} drafters, not "${name}"`);
    }
    if (given.savedState && !maker?.savesState) throw new EdgespecError("invalid_argument", `drafter "${name}" has no saved state to restore`);
  }

  /** A new drafter, or undefined for "none". Unknown names and unused inputs are clear errors. */
  create(name: string, ctx: DrafterMakeContext): ManagedDrafter | undefined {
    this.check(name, { corpus: !!ctx.corpus, savedState: !!ctx.savedState });
    if (name === "none") return undefined;
    const maker = this.makers.get(name)!;
    const d = maker.create(ctx);
    if (!d || typeof d.propose !== "function" || typeof d.observe !== "function" || typeof d.reset !== "function") {
      throw new EdgespecError("invalid_argument", `drafter "${name}": create() must return a Drafter (reset, propose, observe)`);
    }
    return managed(d, name);
  }
}

/** A registry with edgespec's drafters: recycle, sam, ngram, hybrid. */
export function builtinDrafters(): DrafterRegistry {
  const common = (ctx: DrafterMakeContext) => ({ vocabSize: ctx.vocabSize, tokenizerFingerprint: ctx.tokenizerFingerprint, kernels: ctx.kernels });
  const recycle = (ctx: DrafterMakeContext) => (ctx.savedState ? { table: ctx.savedState } : undefined);
  const sam = (ctx: DrafterMakeContext) => (ctx.corpus ? { corpus: ctx.corpus } : undefined);
  return new DrafterRegistry()
    .register("recycle", { create: (ctx) => new TokenRecyclingDrafter({ ...common(ctx), recycle: recycle(ctx) }), savesState: true, recyclingTable: true })
    .register("sam", { create: (ctx) => new SuffixAutomatonDrafter({ ...common(ctx), sam: sam(ctx) }), usesCorpus: true })
    .register("ngram", { create: (ctx) => new NgramDrafter(common(ctx)) })
    .register("hybrid", { create: (ctx) => new HybridDrafter({ ...common(ctx), recycle: recycle(ctx), sam: sam(ctx) }), usesCorpus: true, savesState: true, recyclingTable: true });
}
