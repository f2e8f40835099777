/**
 * One table of generation parameters (src/decode/params.ts): the server, the CLI and the library
 * refuse the same values with the same words, accept the same boundaries, and default alike.
 */
import { describe, expect, test } from "bun:test";
import { GENERATE_FLAGS } from "../../src/cli/generate.ts";
import { PARAM_DEFAULTS, PARAM_RULES, type ParamName } from "../../src/decode/params.ts";
import { checkSampling } from "../../src/decode/sampler.ts";
import { EdgespecError } from "../../src/errors.ts";
import { ApiError } from "../../src/server/api-error.ts";
import { DEFAULT_LIMITS, parseChat, parseCompletion } from "../../src/server/requests.ts";

const CLI_FLAG: Record<ParamName, string> = {
  maxTokens: "max-tokens",
  temperature: "temperature",
  topP: "top-p",
  topK: "top-k",
  minP: "min-p",
  presencePenalty: "presence-penalty",
  frequencyPenalty: "frequency-penalty",
  repetitionPenalty: "repetition-penalty",
  seed: "seed",
};

/** Values just outside each rule (and a fraction where integers are required). */
function badValues(name: ParamName): number[] {
  const r: { min?: number; max?: number; integer?: boolean; minExclusive?: boolean } = PARAM_RULES[name];
  const bad: number[] = [];
  if (r.min !== undefined && r.min !== Number.MIN_SAFE_INTEGER) bad.push(r.minExclusive ? r.min : r.min - 1);
  if (r.max !== undefined) bad.push(r.max + 0.5);
  if (r.integer) bad.push(1.5);
  return bad;
}

function goodValues(name: ParamName): number[] {
  const r: { min?: number; max?: number; minExclusive?: boolean } = PARAM_RULES[name];
  const good: number[] = [];
  if (r.min !== undefined && !r.minExclusive && r.min !== Number.MIN_SAFE_INTEGER) good.push(r.min);
  if (r.max !== undefined) good.push(r.max);
  return good.length > 0 ? good : [1];
}

const server = (name: ParamName, value: number) => parseCompletion({ model: "m", prompt: "x", [PARAM_RULES[name].wire]: value }, DEFAULT_LIMITS, []);
const library = (name: ParamName, value: number) => checkSampling({ [name]: value });

describe("generation parameters: one table", () => {
  for (const name of Object.keys(PARAM_RULES) as ParamName[]) {
    test(`${name}: the server and the library refuse the same values with the same message, and accept its bounds`, () => {
      for (const v of badValues(name)) {
        let onServer: unknown;
        let inLibrary: unknown;
        try {
          server(name, v);
        } catch (e) {
          onServer = e;
        }
        try {
          library(name, v);
        } catch (e) {
          inLibrary = e;
        }
        expect(onServer).toBeInstanceOf(ApiError);
        expect((onServer as ApiError).status).toBe(400);
        expect((onServer as ApiError).param).toBe(PARAM_RULES[name].wire);
        expect(inLibrary).toBeInstanceOf(EdgespecError);
        expect((inLibrary as EdgespecError).message).toBe((onServer as ApiError).message);
      }
      for (const v of goodValues(name)) {
        expect(() => server(name, v)).not.toThrow();
        expect(() => library(name, v)).not.toThrow();
      }
    });
  }

  test("the defaults: a request that sets nothing, the CLI's flags and the table agree", () => {
    for (const req of [parseCompletion({ model: "m", prompt: "x" }, DEFAULT_LIMITS, []), parseChat({ model: "m", messages: [{ role: "user", content: "x" }] }, DEFAULT_LIMITS, [])]) {
      expect(req.temperature).toBe(PARAM_DEFAULTS.temperature);
      expect(req.topP).toBe(PARAM_DEFAULTS.topP);
      expect(req.topK).toBe(PARAM_DEFAULTS.topK);
      expect(req.penalties).toEqual({ presencePenalty: PARAM_DEFAULTS.presencePenalty, frequencyPenalty: PARAM_DEFAULTS.frequencyPenalty, repetitionPenalty: PARAM_DEFAULTS.repetitionPenalty, minP: PARAM_DEFAULTS.minP });
    }
    for (const [name, value] of Object.entries(PARAM_DEFAULTS)) expect(GENERATE_FLAGS[CLI_FLAG[name as ParamName]]!.default).toBe(String(value));
  });

  test("logit_bias: ranges and ids checked alike", () => {
    expect(() => parseCompletion({ model: "m", prompt: "x", logit_bias: { "5": 101 } }, DEFAULT_LIMITS, [])).toThrow(/between -100 and 100/);
    expect(() => checkSampling({ logitBias: { 5: 101 } })).toThrow(/between -100 and 100/);
    expect(() => parseCompletion({ model: "m", prompt: "x", logit_bias: { abc: 1 } }, DEFAULT_LIMITS, [])).toThrow(/not in the vocabulary/);
    expect(() => parseCompletion({ model: "m", prompt: "x", logit_bias: { "5": -100, "6": 100 } }, DEFAULT_LIMITS, [])).not.toThrow();
  });
});
