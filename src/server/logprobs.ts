/**
 * OpenAI's two logprobs shapes from edgespec's per-token logprobs: chat's
 * `{ content: [{ token, logprob, bytes, top_logprobs }] }` and legacy completions'
 * `{ tokens, token_logprobs, top_logprobs, text_offset }`. A token's text is its own decoding; a
 * byte-level token that holds part of a character decodes to U+FFFD, whose bytes are then what
 * `bytes` carries (the tokenizer does not expose raw token bytes).
 */
import type { TokenLogprob } from "../decode/sampler.ts";

export type TokenText = (id: number) => string;

const utf8 = (s: string) => Array.from(new TextEncoder().encode(s));

export function chatLogprobs(lps: readonly TokenLogprob[], text: TokenText) {
  return {
    content: lps.map((l) => ({
      token: text(l.token),
      logprob: l.logprob,
      bytes: utf8(text(l.token)),
      top_logprobs: l.top.map((t) => ({ token: text(t.token), logprob: t.logprob, bytes: utf8(text(t.token)) })),
    })),
    refusal: null,
  };
}

/** `offset`: characters of output before the first of these tokens (streams continue counting). */
export function completionLogprobs(lps: readonly TokenLogprob[], text: TokenText, offset = 0) {
  const tokens = lps.map((l) => text(l.token));
  const text_offset: number[] = [];
  let at = offset;
  for (const t of tokens) {
    text_offset.push(at);
    at += t.length;
  }
  return {
    tokens,
    token_logprobs: lps.map((l) => l.logprob),
    top_logprobs: lps.map((l) => Object.fromEntries(l.top.map((t) => [text(t.token), t.logprob]))),
    text_offset,
  };
}
