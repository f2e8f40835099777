/**
 * Streams text from token ids without ever emitting half a UTF-8 character: a byte-level token can
 * end inside a multi-byte character, which decodes to U+FFFD until the next token completes it.
 * Keeps two offsets (as text-generation-inference does): text is re-decoded from `prefix`, and
 * only what lies past the previously read text, and does not end in U+FFFD, is released.
 */
import type { TextCodec } from "../model/tokenizer.ts";

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
