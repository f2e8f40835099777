/**
 * What a speculative generation reports (SpecStats, SpecResult), and the result of one that
 * generated no token: aborted before its prefill, or the server's prompt-only pass.
 */
import { finishStats, type GenerateResult, type GenerateStats } from "../decode/plain.ts";
import type { LanguageModel } from "../model/causal-lm.ts";
import type { LoadedModel } from "../model/load.ts";

export interface DrafterStats {
  drafted: number;
  accepted: number;
  acceptance: number;
}

export interface SpecStats extends GenerateStats {
  drafter: string;
  steps: number;
  draftedTokens: number;
  acceptedTokens: number;
  /** Tokens emitted per verification step, bonus included. */
  meanAcceptedLength: number;
  perDrafter: Record<string, DrafterStats>;
  /** Steps per verified tree size (sizes rounded up to a power of two; 0 = a plain step). */
  budgets: Record<string, number>;
  verifyCost: { tokens: number; ms: number }[];
  treeAttention: boolean;
  /** How drafts were verified: "tree" (tree attention) or "chain" (one path per step), and why chain. */
  verifyMode: "tree" | "chain";
  verifyModeReason?: string;
  /** Steps verified as a chain because past + tree exceeded the model's sliding window. */
  windowChainSteps?: number;
  /** Speculative output is guaranteed token-for-token plain output (false for int8-activation graphs). */
  exact: boolean;
  drafterMs: number;
  /**
   * Where decode time went, in ms: `forward` (the model's verify forwards, their outputs read
   * back included), `draft` (= drafterMs: proposing and learning), `select` (sizing the tree: the selector, and the cost curve learning each forward's time),
   * `verify` (choosing tokens from the rows: argmax or sampling, processors included), `kv`
   * (rolling the cache back to the accepted path), `other` (the rest: emitting text, stop rules).
   */
  stepMs: { forward: number; draft: number; select: number; verify: number; kv: number; other: number };
  /**
   * With a prediction: its tokens that appeared in the output, in place (accepted), and the rest
   * (rejected), as OpenAI's accepted_/rejected_prediction_tokens. How many were drafted and
   * verified is perDrafter.prediction.
   */
  prediction?: { acceptedTokens: number; rejectedTokens: number };
}

export interface SpecResult extends Omit<GenerateResult, "stats"> {
  stats: SpecStats;
}

/** The parts rounded, and `other` the decode time none of them covers. */
export function breakdown(decodeMs: number, parts: Omit<SpecStats["stepMs"], "other">): SpecStats["stepMs"] {
  const r = (x: number) => Math.round(x * 100) / 100;
  const known = parts.forward + parts.draft + parts.select + parts.verify + parts.kv;
  return { forward: r(parts.forward), draft: r(parts.draft), select: r(parts.select), verify: r(parts.verify), kv: r(parts.kv), other: r(Math.max(0, decodeMs - known)) };
}

/** How `lm` verifies drafts, and whether its speculative output is exactly its plain output (SpecStats). */
export function verifyModeOf(lm: LanguageModel): Pick<SpecStats, "treeAttention" | "verifyMode" | "verifyModeReason" | "exact"> {
  const treeAttention = lm.info.treeAttention.enabled;
  return {
    treeAttention,
    verifyMode: treeAttention ? "tree" : "chain",
    ...(treeAttention ? {} : { verifyModeReason: lm.info.treeAttention.reason }),
    exact: !lm.info.int8Activations,
  };
}

/** What sets apart results with no generated token (noTokensResult). */
export interface NoTokensOptions {
  finishReason: "abort" | "length";
  /** The prompt's forward, when one ran. */
  prefillMs?: number;
  drafter?: string;
  /** Logprobs were asked for: an empty list of them. */
  withLogprobs: boolean;
  prediction?: { acceptedTokens: number; rejectedTokens: number };
}

/**
 * A result with no generated token, its stats shaped as a generation's: a generation aborted
 * before its prefill, or the server's prompt-only pass (completions' scoring, prompt-pass.ts).
 */
export function noTokensResult(model: LoadedModel, promptTokens: number, o: NoTokensOptions): SpecResult {
  return {
    text: "",
    tokens: [],
    finishReason: o.finishReason,
    ...(o.withLogprobs ? { logprobs: [] } : {}),
    stats: {
      ...finishStats(model, promptTokens, 0, o.prefillMs ?? 0, 0),
      drafter: o.drafter ?? "none",
      steps: 0,
      draftedTokens: 0,
      acceptedTokens: 0,
      meanAcceptedLength: 0,
      perDrafter: {},
      budgets: {},
      verifyCost: [],
      ...verifyModeOf(model.lm),
      drafterMs: 0,
      stepMs: breakdown(0, { forward: 0, draft: 0, select: 0, verify: 0, kv: 0 }),
      ...(o.prediction ? { prediction: o.prediction } : {}),
    },
  };
}
