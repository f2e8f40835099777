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
 * A token's alternatives keyed by their text, and always the token itself: OpenAI reports "the
 * logprob of the sampled token, so there may be up to logprobs+1 elements" (just it for logprobs 0).
 */
function topWithToken(l: TokenLogprob, text: TokenText): Record<string, number> {
  const top = Object.fromEntries(l.top.map((t) => [text(t.token), t.logprob]));
  const own = text(l.token);
  if (!(own in top)) top[own] = l.logprob;
  return top;
}

/**
 * `offset`: characters of output before the first of these tokens (streams continue counting).
 * `prompt` (echo): the prompt tokens' logprobs first (null for the first token, which nothing
 * precedes, as OpenAI reports it). Its `hidden` positions are left out: tokens the tokenizer added
 * itself that are no text (a BOS), which the client never sent and no text offset points at.
 */
export function completionLogprobs(
  lps: readonly TokenLogprob[],
  text: TokenText,
  offset = 0,
  prompt?: { ids: readonly number[]; logprobs: readonly (TokenLogprob | null)[]; hidden?: ReadonlySet<number> },
): CompletionLogprobs {
  const entries: { id: number; lp: TokenLogprob | null }[] = [];
  prompt?.ids.forEach((id, i) => {
    if (!prompt.hidden?.has(i)) entries.push({ id, lp: prompt.logprobs[i] ?? null });
  });
  for (const l of lps) entries.push({ id: l.token, lp: l });
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let at = offset;
  for (const { id, lp } of entries) {
    const t = text(id);
    out.tokens.push(t);
    out.token_logprobs.push(lp ? lp.logprob : null);
    out.top_logprobs.push(lp ? topWithToken(lp, text) : null);
    out.text_offset.push(at);
    at += t.length;
  }
  return out;
}
