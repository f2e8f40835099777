/**
 * The streaming detokenizer: characters split across tokens are held back until complete, and a
 * run of invalid bytes (which never completes) is released as U+FFFD with bounded work per token.
 */
import { expect, test } from "bun:test";
import { Detokenizer } from "../../src/decode/detokenizer.ts";
import type { TextCodec } from "../../src/model/tokenizer.ts";
import { referenceModel } from "../helpers/model.ts";

/** The codec, counting how many token ids it is asked to decode in all. */
function counting(codec: TextCodec): { codec: TextCodec; decoded: () => number } {
  let n = 0;
  const proxy = Object.create(codec) as TextCodec;
  proxy.decode = (ids, skip) => {
    n += ids.length;
    return codec.decode(ids, skip);
  };
  return { codec: proxy, decoded: () => n };
}

test("an invalid byte run streams out as U+FFFD with work linear in its length", async () => {
  const { tokenizer } = await referenceModel();
  const byteFF = (tokenizer.json as { model: { vocab: Record<string, number> } }).model.vocab["ÿ"]!; // byte-level BPE: the byte 0xFF alone
  const ids = [...tokenizer.encode("x = ", false), ...Array(2000).fill(byteFF), ...tokenizer.encode(" done", false)];
  const { codec, decoded } = counting(tokenizer);
  const d = new Detokenizer(codec);
  let text = "";
  let releasedDuringRun = 0;
  ids.forEach((id, i) => {
    const piece = d.push(id);
    if (i > 10 && i < 2000 && piece.length > 0) releasedDuringRun++;
    text += piece;
  });
  text += d.flush();
  expect(text).toBe(tokenizer.decode(ids));
  expect(text).toContain("\uFFFD".repeat(100));
  // Streamed as it comes (not held to the end), and a bounded window decoded per token.
  expect(releasedDuringRun).toBeGreaterThan(1900);
  expect(decoded()).toBeLessThan(20 * ids.length);
});

test("a character split over tokens is held back until it is complete, then released whole", async () => {
  const { tokenizer } = await referenceModel();
  const text = "a 日本語 🎉 é b";
  const ids = tokenizer.encode(text, false);
  const d = new Detokenizer(tokenizer);
  const pieces = ids.map((id) => d.push(id));
  pieces.push(d.flush());
  expect(pieces.join("")).toBe(text);
  for (const p of pieces) expect(p).not.toContain("\uFFFD");
});

/** GPT-2's byte-level alphabet: the vocabulary entry that stands for one raw byte. */
function byteChar(b: number): string {
  const direct = (x: number) => (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255);
  if (direct(b)) return String.fromCharCode(b);
  let n = 0;
  for (let x = 0; x < b; x++) if (!direct(x)) n++;
  return String.fromCharCode(256 + n);
}

test("after an invalid run, a 4-byte character fed one byte per token still comes out whole", async () => {
  const { tokenizer } = await referenceModel();
  const vocab = (tokenizer.json as { model: { vocab: Record<string, number> } }).model.vocab;
  const bytes = [0xff, 0xff, 0xff, 0xff, 0xff, ...new TextEncoder().encode("🎉")];
  const ids = bytes.map((b) => vocab[byteChar(b)]!);
  expect(ids.every((id) => id !== undefined)).toBe(true);
  const d = new Detokenizer(tokenizer);
  const pieces = ids.map((id) => d.push(id));
  pieces.push(d.flush());
  expect(pieces.join("")).toBe(`${"\uFFFD".repeat(5)}🎉`);
  expect(pieces.join("")).toBe(tokenizer.decode(ids));
});
