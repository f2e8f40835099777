/**
 * Streams text from token ids without ever emitting half a UTF-8 character: a byte-level token can
 * end inside a multi-byte character, which decodes to U+FFFD until the next token completes it.
 * Keeps two offsets (as text-generation-inference does): text is re-decoded from `prefix`, and
 * only what lies past the previously read text, and does not end in U+FFFD, is released.
 *
 * An incomplete character has at most 3 bytes, so it lies in the last 3 tokens. When more tokens
 * than that are held, the U+FFFD is an invalid byte run (a model can emit one) that no later token
 * will complete: all but the last 3 tokens are released, U+FFFD included. Without that bound a run
 * of invalid bytes would be re-decoded whole on every token (quadratic; streams stall).
 */
import type { TextCodec } from "../model/tokenizer.ts";

/** Tokens that can hold the bytes of one incomplete UTF-8 character. */
const MAX_PENDING = 3;

export class Detokenizer {
  private readonly ids: number[] = [];
  private prefix = 0;
  private read = 0;

  constructor(private readonly codec: TextCodec) {}

  /** Adds one token; returns the newly completed text (possibly ""). */
  push(id: number): string {
    this.ids.push(id);
    const before = this.codec.decode(this.ids.slice(this.prefix, this.read));
    const after = this.codec.decode(this.ids.slice(this.prefix));
    if (after.length > before.length && !after.endsWith("\uFFFD")) {
      this.prefix = this.read;
      this.read = this.ids.length;
      return after.slice(before.length);
    }
    if (this.ids.length - this.read > MAX_PENDING) {
      const upTo = this.ids.length - MAX_PENDING;
      const settled = this.codec.decode(this.ids.slice(this.prefix, upTo));
      this.prefix = this.read;
      this.read = upTo;
      return settled.slice(before.length);
    }
    return "";
  }

  /** Whatever is still held back (an incomplete character at the very end decodes as U+FFFD). */
  flush(): string {
    const before = this.codec.decode(this.ids.slice(this.prefix, this.read));
    const after = this.codec.decode(this.ids.slice(this.prefix));
    this.prefix = this.read = this.ids.length;
    return after.slice(before.length);
  }
}
