/**
 * Text <-> token ids through @huggingface/tokenizers, configured from a model's tokenizer.json and
 * tokenizer_config.json exactly as transformers.js reads them.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { tokenizerFingerprint } from "../drafters/fingerprint.ts";
import { EdgespecError } from "../errors.ts";
import { ByteLevelDecoder } from "./byte-level.ts";

export interface TokenizerFiles {
  tokenizerJson: unknown;
  tokenizerConfig: Record<string, unknown>;
}

export class TextCodec {
  private readonly tokenizer: Tokenizer;
  readonly config: Record<string, unknown>;
  /** The parsed tokenizer.json (its identity is what saved drafter state is keyed on). */
  readonly json: unknown;
  /** Decoding from a byte table where the tokenizer is byte-level BPE (byte-level.ts); else the library's. */
  private readonly byteLevel: ByteLevelDecoder | undefined;
  private fingerprintMemo: string | undefined;

  constructor(files: TokenizerFiles) {
    this.config = files.tokenizerConfig;
    this.json = files.tokenizerJson;
    try {
      this.tokenizer = new Tokenizer(files.tokenizerJson as object, files.tokenizerConfig as object);
    } catch (cause) {
      throw new EdgespecError("model_invalid", `tokenizer.json could not be loaded: ${(cause as Error).message}`, { cause });
    }
    this.byteLevel = byteLevelDecoder(this.tokenizer, files);
  }

  /**
   * tokenizerFingerprint of `json`, hashed once: the load, each drafter built and the server's
   * model identity all ask for it (~10 ms a hash for edgespec-small's tokenizer).
   */
  get fingerprint(): string {
    return (this.fingerprintMemo ??= tokenizerFingerprint(this.json));
  }

  /** Token ids of `text`; `addSpecialTokens` adds what the tokenizer's post-processor adds (BOS). */
  encode(text: string, addSpecialTokens = true): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: ArrayLike<number>, skipSpecialTokens = true): string {
    if (this.byteLevel) return this.byteLevel.decode(ids, skipSpecialTokens);
    return this.libraryDecode(ids, skipSpecialTokens);
  }

  /** How ids become text: from a byte table (byte-level BPE) or through the tokenizer library. */
  get decoder(): "byte table" | "library" {
    return this.byteLevel ? "byte table" : "library";
  }

  /** The library's own decode, whatever the tokenizer: what the tests hold byte-level decoding equal to. */
  libraryDecode(ids: ArrayLike<number>, skipSpecialTokens = true): string {
    if (ids.length === 0) return ""; // the library throws on []
    return this.tokenizer.decode(Array.from(ids), { skip_special_tokens: skipSpecialTokens });
  }

  private specials: string[] | undefined;
  private longest: number | undefined;

  /**
   * The most text (UTF-16 units) one token can stand for: the longest vocabulary entry or added
   * token. A text of n units has at least ceil(n / this) tokens, which bounds a prompt's length
   * before it is tokenized (byte-level entries stand for one byte per character; pieces for one
   * character each; either way no token covers more text than its entry's length).
   */
  get maxTokenLength(): number {
    if (this.longest === undefined) {
      const j = this.json as { model?: { vocab?: Record<string, number> | [string, number][] }; added_tokens?: { content?: string }[] };
      const vocab = j?.model?.vocab;
      const keys = Array.isArray(vocab) ? vocab.map((e) => e[0]) : Object.keys(vocab ?? {});
      let n = 1;
      for (const k of keys) n = Math.max(n, k.length);
      for (const t of j?.added_tokens ?? []) n = Math.max(n, t.content?.length ?? 0);
      this.longest = n;
    }
    return this.longest;
  }

  /** A lower bound on the tokens of `text`, without tokenizing it. */
  minTokens(text: string): number {
    return Math.ceil(text.length / this.maxTokenLength);
  }

  /** The special (control) token strings of tokenizer.json's added_tokens, e.g. "<s>", "</s>". */
  get specialTokens(): readonly string[] {
    this.specials ??= ((this.json as { added_tokens?: { content?: unknown; special?: unknown }[] })?.added_tokens ?? [])
      .filter((t) => t.special === true && typeof t.content === "string" && t.content.length > 0)
      .map((t) => t.content as string);
    return this.specials;
  }

  /**
   * Ids of `text` as plain text: a special token's string inside it (a user typing "</s>") is
   * encoded one character at a time, so it can never become the control token itself.
   */
  encodePlain(text: string): number[] {
    const found = this.specialTokens.filter((t) => text.includes(t));
    if (found.length === 0) return this.encode(text, false);
    const re = new RegExp(`(${found.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`);
    return text.split(re).flatMap((part, i) => (i % 2 === 1 ? [...part].flatMap((ch) => this.encode(ch, false)) : part ? this.encode(part, false) : []));
  }

  /** The id of a token string, if the vocabulary has it. */
  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token) ?? undefined;
  }

  /** The chat template as a string, whatever shape tokenizer_config gives it in. */
  get chatTemplate(): string | undefined {
    const t = this.config.chat_template;
    if (typeof t === "string") return t;
    if (Array.isArray(t)) {
      const named = t as { name?: string; template?: string }[];
      return (named.find((x) => x.name === "default") ?? named[0])?.template;
    }
    return undefined;
  }
}

interface TokenizerJson {
  model?: { type?: string; unk_token?: unknown; end_of_word_suffix?: unknown };
  decoder?: { type?: string } | null;
  added_tokens?: { content?: unknown; special?: unknown }[];
}

/**
 * The byte-table decoder for a BPE model (no end-of-word suffix) whose whole decoder is ByteLevel and whose text is not
 * "cleaned up" afterwards (tokenizer_config's clean_up_tokenization_spaces, true unless it says
 * false, rewrites spaces before punctuation); undefined for every other tokenizer.
 */
function byteLevelDecoder(tokenizer: Tokenizer, files: TokenizerFiles): ByteLevelDecoder | undefined {
  const json = files.tokenizerJson as TokenizerJson;
  if (json?.model?.type !== "BPE" || json.decoder?.type !== "ByteLevel" || files.tokenizerConfig.clean_up_tokenization_spaces !== false) return undefined;
  // An end-of-word suffix becomes a space (and the text is trimmed) in the library's decode.
  if (json.model.end_of_word_suffix) return undefined;
  const added = (json.added_tokens ?? []).filter((t) => typeof t.content === "string");
  const extra = files.tokenizerConfig.additional_special_tokens;
  return new ByteLevelDecoder({
    tokenOf: (id) => tokenizer.id_to_token(id),
    unknown: typeof json.model.unk_token === "string" ? json.model.unk_token : undefined,
    special: new Set([...added.filter((t) => !!t.special).map((t) => t.content as string), ...(Array.isArray(extra) ? extra.filter((t): t is string => typeof t === "string") : [])]),
    added: new Set(added.map((t) => t.content as string)),
  });
}
