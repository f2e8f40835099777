/**
 * The output path (detokenizer + stop rules) cut at every token index, by each way a generation
 * ends: max tokens, a stop token, a stop string. Whatever the cut, the chunks a streaming client
 * receives join to exactly the final text, and the final text is `decode(tokens)` (up to a stop
 * string), so nothing held back is lost at the end and nothing released is ever retracted.
 */
import { describe, expect, test } from "bun:test";
import { TokenOutput } from "../../src/decode/output.ts";
import type { TextCodec } from "../../src/model/tokenizer.ts";
import { feedIds } from "../helpers/output.ts";
import { referenceModel } from "../helpers/model.ts";

// Multi-byte characters the byte-level BPE splits across tokens (checked below), code, repetition.
const TEXT = "def größe(x):\n    return x  # 你好, ✓ — naïve café\n\ndef größe2(y):\n    return y * 2  # ✓✓\n";

/** Text released for a prefix of tokens: decoded text without a trailing incomplete character. */
function complete(codec: TextCodec, ids: number[]): string {
  return codec.decode(ids).replace(/\uFFFD+$/, "");
}

const { tokenizer } = await referenceModel();
const ids = tokenizer.encode(TEXT, false);

describe("output cut at every index", () => {
  test("the fixture text has tokens that end inside a character", () => {
    expect(tokenizer.decode(ids)).toBe(TEXT);
    const midChar = ids.filter((_, i) => tokenizer.decode(ids.slice(0, i + 1)).endsWith("\uFFFD")).length;
    expect(midChar).toBeGreaterThan(3);
  });

  test("max tokens: chunks join to the final text, which is decode(tokens), at every n", () => {
    for (let n = 1; n <= ids.length; n++) {
      const r = feedIds(tokenizer, ids, { maxTokens: n });
      expect(r.finish).toBe("length");
      expect(r.tokens).toEqual(ids.slice(0, n));
      // An incomplete character at the cut is released as U+FFFD, as decode() gives it.
      expect(r.text).toBe(tokenizer.decode(ids.slice(0, n)));
      expect(r.chunks.join("")).toBe(r.text);
    }
  });

  test("stop token: the tokens before its first occurrence, decoded, at every index", () => {
    for (let n = 0; n < ids.length; n++) {
      const stop = ids[n]!;
      const first = ids.indexOf(stop);
      const r = feedIds(tokenizer, ids, { maxTokens: 1000, stopTokens: [stop] });
      expect(r.finish).toBe("stop");
      expect(r.tokens).toEqual(ids.slice(0, first));
      expect(r.text).toBe(tokenizer.decode(ids.slice(0, first)));
      expect(r.chunks.join("")).toBe(r.text);
    }
  });

  test("stop string: cut before its first occurrence, nothing of it streamed, at every offset and length", () => {
    for (const len of [1, 2, 3, 5]) {
      for (let c = 0; c + len <= TEXT.length; c++) {
        const stop = TEXT.slice(c, c + len);
        if (stop.includes("\uFFFD")) continue;
        const r = feedIds(tokenizer, ids, { maxTokens: 1000, stopStrings: [stop] });
        expect(r.finish).toBe("stop");
        expect(r.text).toBe(TEXT.slice(0, TEXT.indexOf(stop)));
        expect(r.chunks.join("")).toBe(r.text);
      }
    }
  });

  test("stop string and max tokens together: whichever comes first, at every n", () => {
    const stop = "\n\ndef";
    const at = TEXT.indexOf(stop);
    for (let n = 1; n <= ids.length; n++) {
      const r = feedIds(tokenizer, ids, { maxTokens: n, stopStrings: [stop] });
      const upTo = tokenizer.decode(ids.slice(0, n));
      const expected = upTo.includes(stop) ? TEXT.slice(0, at) : upTo;
      expect(r.text).toBe(expected);
      expect(r.chunks.join("")).toBe(r.text);
      expect(r.finish).toBe(upTo.includes(stop) ? "stop" : "length");
    }
  });

  test("hold-back is exactly the longest tail that could begin a stop string, after every token", () => {
    const stops = ["\n\ndef", "return y", "✓✓\n", "café!"];
    const out = new TokenOutput(tokenizer, { maxTokens: 1000, stopStrings: stops });
    let released = "";
    for (let i = 0; i < ids.length; i++) {
      const r = out.push(ids[i]!);
      released += r.text;
      if (r.finish) break;
      const seen = complete(tokenizer, ids.slice(0, i + 1));
      let hold = 0;
      for (const s of stops) for (let k = s.length - 1; k > hold; k--) if (seen.endsWith(s.slice(0, k))) hold = k;
      expect(released).toBe(seen.slice(0, seen.length - hold));
    }
    expect(out.finished).toBe("stop");
    expect(out.fullText).toBe(TEXT.slice(0, TEXT.indexOf("\n\ndef")));
  });
});
