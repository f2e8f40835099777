/**
 * What a model ships for its drafters, named in config.json's `edgespec` block: a warm Token
 * Recycling table (`recycle_table`, tools/warm-table.ts) and a draft corpus (`draft_corpus`,
 * tools/draft-corpus.ts: the model's own continuations of generic text as a corpus index). Both
 * only make drafts better or worse, never change output: a named file that is missing (a model
 * folder copied without it), corrupt, or built for another tokenizer.json (edited since) costs only
 * speed. Drafters then go without it and a note names the file; a bad name in config.json is an
 * error, as the config is.
 */
import { EdgespecError } from "../errors.ts";
import type { Host } from "../host.ts";
import { CorpusIndex } from "../drafters/corpus-index.ts";
import { type StateIdentity, TokenizerMismatchError } from "../drafters/persist.ts";
import { DEFAULT_K, readRecyclingTable } from "../drafters/token-recycling.ts";

export interface DraftAssets {
  recycleTable?: Uint8Array;
  draftCorpus?: CorpusIndex;
}

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

const TABLE: Asset<Uint8Array> = {
  key: "recycle_table",
  what: "Token Recycling table",
  named: "recycling table",
  short: "table",
  without: "drafters start cold (rebuild it with tools/warm-table.ts, or remove edgespec.recycle_table)",
  read: (bytes, identity, what) => (readRecyclingTable(bytes, identity, DEFAULT_K, what), bytes),
};

const CORPUS: Asset<CorpusIndex> = {
  key: "draft_corpus",
  what: "draft corpus",
  named: "draft corpus",
  short: "corpus",
  without: "drafters match the request's text alone (rebuild it with tools/draft-corpus.ts, or remove edgespec.draft_corpus)",
  read: (bytes, identity) => CorpusIndex.load(bytes, { vocabSize: identity.vocabSize, tokenizerFingerprint: identity.fingerprint }),
};

async function shipped<T>(asset: Asset<T>, host: Host, dir: string, config: Record<string, unknown> | undefined, identity: StateIdentity, say: (m: string) => void): Promise<T | undefined> {
  const name = (config?.edgespec as Record<string, unknown> | undefined)?.[asset.key];
  if (name === undefined) return undefined;
  if (typeof name !== "string" || name.includes("..") || name.startsWith("/")) {
    throw new EdgespecError("model_invalid", `config.json's edgespec.${asset.key} must name a file in the model folder, got ${JSON.stringify(name)}`);
  }
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

/** The table and corpus config.json names, each checked as its drafter would read it. */
export async function shippedDraftAssets(host: Host, dir: string, config: Record<string, unknown> | undefined, identity: StateIdentity, say: (m: string) => void): Promise<DraftAssets> {
  const recycleTable = await shipped(TABLE, host, dir, config, identity, say);
  const draftCorpus = await shipped(CORPUS, host, dir, config, identity, say);
  return { ...(recycleTable ? { recycleTable } : {}), ...(draftCorpus ? { draftCorpus } : {}) };
}
