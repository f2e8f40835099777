/**
 * Generation parameters: the one place that says what each is called (in code and on the OpenAI
 * wire), what it defaults to and which values are valid. The server, the CLI, the library and the
 * engine all check through `checkParams` and default through `PARAM_DEFAULTS`, so a value valid in
 * one is valid in all, and leaving a parameter out means the same thing everywhere.
 *
 * Temperature defaults to 0 (greedy) everywhere, the server included: OpenAI's API defaults to 1,
 * llama.cpp's to 0.8; edgespec's contract is easiest to see (and check) greedy. Send temperature
 * for sampling.
 */
import { EdgespecError } from "../errors.ts";

interface NumberRule {
  /** The OpenAI (or vLLM) field name: what error messages and the server's `param` say. */
  wire: string;
  min?: number;
  /** `min` itself is not valid. */
  minExclusive?: boolean;
  max?: number;
  integer?: boolean;
}

export const PARAM_RULES = {
  maxTokens: { wire: "max_tokens", min: 1, integer: true },
  temperature: { wire: "temperature", min: 0, max: 2 },
  // 0 (OpenAI documents [0, 1]) keeps only the most likely token: greedy, whatever the temperature (sampler.ts).
  topP: { wire: "top_p", min: 0, max: 1 },
  topK: { wire: "top_k", min: 0, integer: true },
  minP: { wire: "min_p", min: 0, max: 1 },
  presencePenalty: { wire: "presence_penalty", min: -2, max: 2 },
  frequencyPenalty: { wire: "frequency_penalty", min: -2, max: 2 },
  repetitionPenalty: { wire: "repetition_penalty", min: 0, minExclusive: true, max: 10 },
  seed: { wire: "seed", min: Number.MIN_SAFE_INTEGER, integer: true },
} satisfies Record<string, NumberRule>;

export type ParamName = keyof typeof PARAM_RULES;

/**
 * A refused parameter value as an error shows it: a value that is no number is quoted (the
 * library's maxTokens: "5" read "got 5", a valid-looking value).
 */
export function shownValue(value: unknown): string {
  return typeof value === "number" ? String(value) : JSON.stringify(value);
}

/** Alternatives per token that logprobs may ask for: OpenAI chat's top_logprobs bound (the library's `logprobs` too). */
export const MAX_TOP_LOGPROBS = 20;

/** Values that ask for nothing (seed aside: no seed means a random one). */
export const PARAM_DEFAULTS = {
  /** New tokens at most (always also clipped to the room left in the context). */
  maxTokens: 256,
  temperature: 0,
  topP: 1,
  topK: 0,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
} as const satisfies Partial<Record<ParamName, number>>;

/** logit_bias: token id -> bias added to its logit. */
export const LOGIT_BIAS_RANGE = 100;

export type Params = Partial<Record<ParamName, number>> & { logitBias?: Record<number, number> };

/** How a caller reports a bad value: the server as a 400 naming the field, the CLI and library as an EdgespecError. */
export type ParamFailure = (wire: string, message: string) => Error;

/** The CLI's and the library's ParamFailure. */
export const invalidArgument: ParamFailure = (_wire, message) => new EdgespecError("invalid_argument", message);

function describe(rule: NumberRule): string {
  const kind = rule.integer ? "an integer" : "a number";
  const lo = rule.min === undefined || rule.min === Number.MIN_SAFE_INTEGER ? "" : `${rule.minExclusive ? ">" : ">="} ${rule.min}`;
  const hi = rule.max === undefined ? "" : `<= ${rule.max}`;
  return [kind, [lo, hi].filter(Boolean).join(" and ")].filter(Boolean).join(" ");
}

/** Throws `fail(...)` for the first value outside its rule; unset values are fine. */
export function checkParam(name: ParamName, value: number | undefined, fail: ParamFailure): void {
  if (value === undefined) return;
  const rule: NumberRule = PARAM_RULES[name];
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (!rule.integer || Number.isSafeInteger(value)) &&
    (rule.min === undefined || (rule.minExclusive ? value > rule.min : value >= rule.min)) &&
    (rule.max === undefined || value <= rule.max);
  if (!ok) throw fail(rule.wire, `${rule.wire} must be ${describe(rule)}, got ${shownValue(value)}`);
}

/** Every parameter of `p`, and its logit_bias (ids inside `vocab` when given). */
export function checkParams(p: Params, fail: ParamFailure, vocab?: number): void {
  for (const name of Object.keys(PARAM_RULES) as ParamName[]) checkParam(name, p[name], fail);
  for (const [id, bias] of Object.entries(p.logitBias ?? {})) {
    const t = Number(id);
    if (!/^\d+$/.test(id) || (vocab !== undefined && t >= vocab)) throw fail("logit_bias", `logit_bias names token ${id}, which is not in the vocabulary${vocab === undefined ? "" : ` (size ${vocab})`}`);
    if (typeof bias !== "number" || !Number.isFinite(bias) || Math.abs(bias) > LOGIT_BIAS_RANGE) {
      throw fail("logit_bias", `logit_bias for token ${id} must be a number between -${LOGIT_BIAS_RANGE} and ${LOGIT_BIAS_RANGE}, got ${bias}`);
    }
  }
}
