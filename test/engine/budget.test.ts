/**
 * The budget policy and the verify cost model on synthetic curves, where the right answer is
 * known: a flat cost with high acceptance must grow the tree to the largest budget; a steep cost
 * with nothing accepted must shrink it to 0 (plain decoding) but for the exploration steps.
 */
import { describe, expect, test } from "bun:test";
import { BudgetPolicy } from "../../src/engine/budget.ts";
import { VerifyCostModel } from "../../src/engine/cost-model.ts";

const GRID = [1, 2, 4, 8, 16, 32, 48, 64, 96];
const curve = (ms: (tokens: number) => number) => new VerifyCostModel(GRID.map((tokens) => ({ tokens, ms: ms(tokens) })));

/** Runs the policy for `steps` steps; `accept(b)` is how many draft tokens a tree of b nodes gets. */
function simulate(policy: BudgetPolicy, steps: number, accept: (budget: number) => number): number[] {
  const chosen: number[] = [];
  for (let i = 0; i < steps; i++) {
    const b = policy.choose();
    chosen.push(b);
    policy.record(b, accept(b), 0.01);
  }
  return chosen;
}

const count = (xs: number[], x: number) => xs.filter((v) => v === x).length;

describe("VerifyCostModel", () => {
  const m = new VerifyCostModel([
    { tokens: 1, ms: 4 },
    { tokens: 8, ms: 6 },
    { tokens: 32, ms: 15.5 },
  ]);
  test("is exact at measured points, linear between them, and extrapolates the last segment", () => {
    expect(m.cost(1)).toBe(4);
    expect(m.cost(8)).toBe(6);
    expect(m.cost(32)).toBe(15.5);
    expect(m.cost(20)).toBeCloseTo(6 + (12 * 9.5) / 24, 10);
    expect(m.cost(4.5)).toBeCloseTo(5, 10);
    expect(m.cost(56)).toBeCloseTo(15.5 + (24 * 9.5) / 24, 10);
  });
  test("never goes below the one-token cost; an empty model costs 1 ms per forward", () => {
    expect(m.cost(0)).toBe(4);
    expect(new VerifyCostModel([]).cost(50)).toBe(1);
    expect(new VerifyCostModel([{ tokens: 1, ms: 3 }]).cost(80)).toBe(3);
  });
});

describe("BudgetPolicy", () => {
  test("flat cost, high acceptance: it grows to the largest budget and stays there", () => {
    const policy = new BudgetPolicy(curve(() => 10));
    const chosen = simulate(policy, 200, (b) => Math.floor(0.9 * b));
    const late = chosen.slice(100);
    // Every step but the exploration steps (every 8th, alternating sides) uses the top bucket.
    expect(count(late, 80)).toBeGreaterThanOrEqual(late.length - Math.ceil(late.length / 8));
    expect(Math.max(...late.filter((b) => b !== 80))).toBe(64); // exploration: the neighbour only
  });

  test("steep cost, nothing accepted: it shrinks to 0 (plain steps) but for exploration", () => {
    const policy = new BudgetPolicy(curve((s) => 2 * s));
    const chosen = simulate(policy, 200, () => 0);
    const late = chosen.slice(100);
    expect(count(late, 0)).toBeGreaterThanOrEqual(late.length - Math.ceil(late.length / 8));
    expect(Math.max(...late)).toBe(4);
    expect(policy.histogram()["0"]).toBe(count(chosen, 0));
  });

  test("an interior optimum: acceptance that saturates at 6 tokens on a linear cost picks 8", () => {
    // score(b) = (1 + min(b, 6)) / (4 + (1 + b) / 4): 8 beats 4 (7/6.25 vs 5/5.25) and 16 (7/8.25).
    const policy = new BudgetPolicy(curve((s) => 4 + s / 4));
    const late = simulate(policy, 160, (b) => Math.min(b, 6)).slice(80);
    expect(count(late, 8)).toBeGreaterThanOrEqual(late.length - Math.ceil(late.length / 8));
  });

  test("it follows a change: acceptance that appears mid-run grows the budget", () => {
    const policy = new BudgetPolicy(curve((s) => 2 + s / 16));
    const before = simulate(policy, 100, () => 0);
    expect(count(before.slice(60), 0)).toBeGreaterThan(30);
    // A bucket learns only when explored (its neighbour, every 16th step), so climbing is slow:
    // one bucket per ~60 steps here. Measured: 4 after ~11 steps, 8 after ~59, 16 after ~123, 32 after ~187.
    const after = simulate(policy, 300, (b) => Math.floor(0.8 * b));
    expect(count(after.slice(0, 16), 0)).toBeGreaterThan(0);
    expect(count(after.slice(250), 32) + count(after.slice(250), 48)).toBeGreaterThan(40);
  });

  test("the histogram counts every choice", () => {
    const policy = new BudgetPolicy(curve(() => 1));
    const chosen = simulate(policy, 37, (b) => b);
    const h = policy.histogram();
    expect(Object.values(h).reduce((a, b) => a + b, 0)).toBe(37);
    for (const [b, n] of Object.entries(h)) expect(n).toBe(count(chosen, Number(b)));
  });
});
