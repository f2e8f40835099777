/**
 * What a model ships for its drafters, named in config.json's `edgespec` block: a warm Token
 * Recycling table (`recycle_table`, tools/warm-table.ts) and a draft corpus (`draft_corpus`,
 * tools/draft-corpus.ts: the model's own continuations of generic text as a corpus index). Both
 * only make drafts better or worse, never change output: a named file that is missing (a model
 * folder copied without it), corrupt, or built for another tokenizer.json (edited since) costs only
 * speed. Drafters then go without it and a note names the file; a bad name in config.json is an
 * error at load, as the config is.
 *
 * Each is read the first time a drafter that declares it (DrafterMaker.recyclingTable, usesCorpus)
 * is built, not at load: reading and checking them took 3-15 ms (medians) and held 1.0-1.4 MB per
 * load (edgespec-small, edgespec-tiny), spent for nothing by a model served plain or with ngram.
 */
import { EdgespecError } from "../errors.ts";
import type { Host } from "../host.ts";
import { CorpusIndex } from "../drafters/corpus-index.ts";
import { type StateIdentity, TokenizerMismatchError } from "../drafters/persist.ts";
import { DEFAULT_K, readRecyclingTable } from "../drafters/token-recycling.ts";

/** A model's shipped assets by name, each present once read and found good. */
export interface DraftAssets {
  recycleTable?: Uint8Array;
  draftCorpus?: CorpusIndex;
}

export type DraftAssetName = keyof DraftAssets;

interface Asset<T> {
  /** config.json's key in `edgespec`. */
  key: string;
  /** Its name in notes ("Token Recycling table"), in a note's first words ("recycling table"), and for short ("table"). */
  what: string;
  named: string;
  short: string;
  /** What drafters do without it, and how to mend it. */
  without: string;
  read(bytes: Uint8Array, identity: StateIdentity, what: string): T;
}

const ASSETS: { [N in DraftAssetName]-?: Asset<NonNullable<DraftAssets[N]>> } = {
  recycleTable: {
    key: "recycle_table",
    what: "Token Recycling table",
    named: "recycling table",
    short: "table",
    without: "drafters start cold (rebuild it with tools/warm-table.ts, or remove edgespec.recycle_table)",
    read: (bytes, identity, what) => (readRecyclingTable(bytes, identity, DEFAULT_K, what), bytes),
  },
  draftCorpus: {
    key: "draft_corpus",
    what: "draft corpus",
    named: "draft corpus",
    short: "corpus",
    without: "drafters match the request's text alone (rebuild it with tools/draft-corpus.ts, or remove edgespec.draft_corpus)",
    read: (bytes, identity) => CorpusIndex.load(bytes, { vocabSize: identity.vocabSize, tokenizerFingerprint: identity.fingerprint }),
  },
};

const NAMES = Object.keys(ASSETS) as DraftAssetName[];

/** The file config.json's `edgespec.<key>` names, undefined when it names none; a name outside the folder is an error. */
function fileNamed(config: Record<string, unknown> | undefined, key: string): string | undefined {
  const name = (config?.edgespec as Record<string, unknown> | undefined)?.[key];
  if (name === undefined) return undefined;
  if (typeof name !== "string" || name.includes("..") || name.startsWith("/")) {
    throw new EdgespecError("model_invalid", `config.json's edgespec.${key} must name a file in the model folder, got ${JSON.stringify(name)}`);
  }
  return name;
}

async function readShipped<T>(asset: Asset<T>, host: Host, dir: string, name: string, identity: StateIdentity, say: (m: string) => void): Promise<T | undefined> {
  const path = host.join(dir, name);
  if (!(await host.isFile(path))) {
    say(`config.json names ${asset.named} ${name}, which is not in ${dir}: ${asset.without}`);
    return undefined;
  }
  const what = `${path} (the model's shipped ${asset.what}, config.json edgespec.${asset.key})`;
  try {
    return asset.read(await host.readFile(path), identity, what);
  } catch (err) {
    if (err instanceof TokenizerMismatchError) {
      const { saved, expected } = err;
      say(
        `${what} was built for tokenizer "${saved.fingerprint || "(unknown)"}" with ${saved.vocabSize} tokens, but the model's ` +
          `tokenizer.json and config.json are now "${expected.fingerprint}" with ${expected.vocabSize} tokens (edited since the ${asset.short} was built?): ${asset.without}`,
      );
    } else if (err instanceof EdgespecError) {
      say(`${err.message.includes(path) ? err.message : `${what}: ${err.message}`}: ${asset.without}`);
    } else throw err;
    return undefined;
  }
}

/**
 * One loaded model's shipped assets: each read, checked and (when bad) noted once, the first time
 * it is asked for, then shared by every drafter of the model.
 */
export class ShippedDraftAssets {
  /** Reads begun, by asset (a read that failed unexpectedly is dropped, so the next ask tries again). */
  private readonly reads = new Map<DraftAssetName, Promise<unknown>>();
  /** Reads finished: the asset, or undefined when it was missing or bad (noted). */
  private readonly settled = new Map<DraftAssetName, unknown>();

  private constructor(
    private readonly host: Host,
    private readonly dir: string,
    /** The file config.json names for each asset it names. */
    private readonly files: ReadonlyMap<DraftAssetName, string>,
    private readonly identity: StateIdentity,
    private readonly say: (m: string) => void,
  ) {}

  /** The assets config.json names, none read yet; a name outside the model folder throws model_invalid. */
  static named(host: Host, dir: string, config: Record<string, unknown> | undefined, identity: StateIdentity, say: (m: string) => void): ShippedDraftAssets {
    const files = new Map<DraftAssetName, string>();
    for (const n of NAMES) {
      const file = fileNamed(config, ASSETS[n].key);
      if (file !== undefined) files.set(n, file);
    }
    return new ShippedDraftAssets(host, dir, files, identity, say);
  }

  /** The asset names config.json names a file for. */
  get names(): readonly DraftAssetName[] {
    return [...this.files.keys()];
  }

  /** Reads those of `names` not read yet (each once, shared by concurrent asks) and returns those that are good. */
  async read(names: readonly DraftAssetName[]): Promise<DraftAssets> {
    await Promise.all(names.map((n) => this.readOne(n)));
    return this.taken(names);
  }

  /**
   * Those of `names` already read and good, for a drafter built synchronously. Throws not_ready for
   * one that config.json names and nobody has read: a drafter built then would silently go
   * without it.
   */
  taken(names: readonly DraftAssetName[]): DraftAssets {
    const out: Record<string, unknown> = {};
    for (const n of names) {
      if (!this.files.has(n)) continue;
      if (!this.settled.has(n)) {
        const file = this.host.join(this.dir, this.files.get(n)!);
        throw new EdgespecError("not_ready", `the model's shipped ${ASSETS[n].what} (${file}) is not read yet: await readDraftAssets (engine/drafting.ts) or model.draftAssets.read before building a drafter that starts from it`);
      }
      const value = this.settled.get(n);
      if (value !== undefined) out[n] = value;
    }
    return out as DraftAssets;
  }

  /** The model's warm Token Recycling table, read now if it was not; undefined when it ships none, or a bad one (noted). */
  async recycleTable(): Promise<Uint8Array | undefined> {
    return (await this.read(["recycleTable"])).recycleTable;
  }

  /** The model's draft corpus, read now if it was not; undefined as for the table. */
  async draftCorpus(): Promise<CorpusIndex | undefined> {
    return (await this.read(["draftCorpus"])).draftCorpus;
  }

  private readOne(n: DraftAssetName): Promise<unknown> {
    const file = this.files.get(n);
    if (file === undefined) return Promise.resolve(undefined);
    let read = this.reads.get(n);
    if (!read) {
      read = readShipped(ASSETS[n] as Asset<unknown>, this.host, this.dir, file, this.identity, this.say).then(
        (value) => (this.settled.set(n, value), value),
        (err) => {
          this.reads.delete(n);
          throw err;
        },
      );
      this.reads.set(n, read);
    }
    return read;
  }
}
