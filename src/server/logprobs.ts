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
  const entry = (id: number, logprob: number) => {
    const token = text(id);
    return { token, logprob, bytes: utf8(token) };
  };
  return {
    content: lps.map((l) => ({ ...entry(l.token, l.logprob), top_logprobs: l.top.map((t) => entry(t.token, t.logprob)) })),
    refusal: null,
  };
}

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

/**
 * `offset`: characters of output before the first of these tokens (streams continue counting).
 * `prompt` (echo): the prompt tokens' logprobs first, null for the first token, as OpenAI does.
 */
export function completionLogprobs(lps: readonly TokenLogprob[], text: TokenText, offset = 0, prompt?: { ids: readonly number[]; logprobs: readonly (TokenLogprob | null)[] }): CompletionLogprobs {
  if (prompt) {
    // The first prompt token has no logprob (nothing precedes it): null, as OpenAI reports it.
    const firstText = text(prompt.ids[0]!);
    const head = completionLogprobs(prompt.logprobs.slice(1) as TokenLogprob[], text, offset + firstText.length);
    const tail = completionLogprobs(lps, text, offset + firstText.length + head.tokens.join("").length);
    return {
      tokens: [firstText, ...head.tokens, ...tail.tokens],
      token_logprobs: [null, ...head.token_logprobs, ...tail.token_logprobs],
      top_logprobs: [null, ...head.top_logprobs, ...tail.top_logprobs],
      text_offset: [offset, ...head.text_offset, ...tail.text_offset],
    };
  }
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
