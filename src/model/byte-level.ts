/**
 * Decoding for tokenizers whose decoder is byte-level (GPT-2's scheme: every byte is one printable
 * character in the vocabulary), computed from a table of each token's bytes instead of through
 * the tokenizer library's decoder chain.
 *
 * Streaming text decodes a few tokens twice per generated token (detokenizer.ts). Through the
 * library that cost 54 us a token in edgespec-tiny's decode loop (2.5% of a plain step), through
 * the table 21-26 (Detokenizer.push alone: 9.7 -> 1.3 us warm, 22-32 -> 10 us with 32 MB swept
 * between tokens as a forward sweeps the caches). Same function: it follows the library's rules: ids
 * to token strings (unknown ids: the unk token), special tokens dropped by string when asked,
 * added tokens as their content, every run of other tokens mapped character by character to
 * bytes (a character outside the map is byte 0) and decoded as UTF-8 without fatal errors,
 * keeping a BOM. Tests hold it equal to the library on the whole vocabulary and on random runs.
 */

/** GPT-2's byte <-> character table: printable Latin-1 bytes stand for themselves, the rest for U+0100 on. */
function byteOfChar(): Map<string, number> {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) out.set(String.fromCharCode(printable(b) ? b : 256 + extra++), b);
  return out;
}

export interface ByteLevelVocabulary {
  /** The token string of an id (the vocabulary's or an added token's), undefined when it has none. */
  tokenOf(id: number): string | undefined;
  /** What the library decodes an id without a token string as. */
  unknown: string | undefined;
  /** Strings dropped when special tokens are skipped. */
  special: ReadonlySet<string>;
  /** Added tokens' contents: decoded as themselves, not as bytes. */
  added: ReadonlySet<string>;
}

const BYTES = 0;
const ADDED = 1;

interface Entry {
  kind: number;
  /** The token's bytes (BYTES; empty for ADDED). */
  bytes: Uint8Array;
  /** The token string (ADDED: its text). */
  text: string;
  special: boolean;
}

export class ByteLevelDecoder {
  private readonly bytes = byteOfChar();
  /** Per id: its kind (BYTES or ADDED), its bytes or content, and whether it is special; built on first use. */
  private readonly entries: (Entry | undefined)[] = [];
  private buffer = new Uint8Array(256);
  private readonly utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

  constructor(private readonly vocab: ByteLevelVocabulary) {}

  decode(ids: ArrayLike<number>, skipSpecialTokens: boolean): string {
    let text = "";
    let used = 0;
    for (let i = 0; i < ids.length; i++) {
      const e = this.entry(ids[i]!);
      if (e === undefined || (skipSpecialTokens && e.special)) continue;
      if (e.kind === ADDED) {
        if (used > 0) text += this.utf8.decode(this.buffer.subarray(0, used));
        used = 0;
        text += e.text;
        continue;
      }
      if (used + e.bytes.length > this.buffer.length) {
        const grown = new Uint8Array(2 * (used + e.bytes.length));
        grown.set(this.buffer.subarray(0, used));
        this.buffer = grown;
      }
      this.buffer.set(e.bytes, used);
      used += e.bytes.length;
    }
    if (used > 0) text += this.utf8.decode(this.buffer.subarray(0, used));
    return text;
  }

  private entry(id: number): Entry | undefined {
    const cached = this.entries[id];
    if (cached !== undefined) return cached;
    const token = this.vocab.tokenOf(id) ?? this.vocab.unknown;
    if (token === undefined) return undefined;
    const special = this.vocab.special.has(token);
    const bytes = this.vocab.added.has(token) ? new Uint8Array(0) : Uint8Array.from(token, (c) => this.bytes.get(c) ?? 0);
    const e: Entry = { kind: this.vocab.added.has(token) ? ADDED : BYTES, bytes, text: token, special };
    if (Number.isInteger(id) && id >= 0 && id < 1 << 24) this.entries[id] = e;
    return e;
  }
}
