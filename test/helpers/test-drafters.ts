/** Drafters for testing the engine: they know the answer (oracle), or know it to be wrong, or guess at random. */
import { Rng } from "../../src/decode/rng.ts";
import type { DraftTree, Drafter, VerifyUpdate } from "../../src/drafters/types.ts";

function chainTree(tokens: number[]): DraftTree {
  const n = tokens.length;
  return { size: n, tokens: Int32Array.from(tokens), parents: Int32Array.from(tokens, (_, i) => i - 1), depths: Int32Array.from(tokens, (_, i) => i + 1) };
}

/** Follows a known continuation; `wrong` makes every guess miss it. */
export class ScriptedDrafter implements Drafter {
  readonly name: string;
  private produced = 0;
  private prompt = 0;

  constructor(private readonly script: readonly number[], private readonly vocab: number, private readonly wrong = false) {
    this.name = wrong ? "always-wrong" : "oracle";
  }

  reset(prompt: ArrayLike<number>): void {
    this.prompt = prompt.length;
    this.produced = 0;
  }

  propose(budget: number): DraftTree {
    // The root is script[produced - 1]; guesses start at script[produced].
    const next = this.script.slice(this.produced, this.produced + budget);
    return chainTree(this.wrong ? next.map((t) => (t + 1) % this.vocab) : next);
  }

  observe(u: VerifyUpdate): void {
    this.produced += u.accepted.length;
    void this.prompt;
  }
}

/** Random trees of random tokens drawn from a small set the model likes, dedupe by (parent, token). */
export class RandomTreeDrafter implements Drafter {
  readonly name = "random-tree";
  private readonly rng: Rng;

  constructor(private readonly tokens: readonly number[], seed = 1) {
    this.rng = new Rng(seed);
  }

  reset(): void {}

  propose(budget: number): DraftTree {
    const tokens: number[] = [];
    const parents: number[] = [];
    const depths: number[] = [];
    const seen = new Set<string>();
    for (let tries = 0; tokens.length < budget && tries < budget * 4; tries++) {
      const p = Math.floor(this.rng.next() * (tokens.length + 1)) - 1;
      const t = this.tokens[Math.floor(this.rng.next() * this.tokens.length)]!;
      if (seen.has(`${p}:${t}`)) continue;
      seen.add(`${p}:${t}`);
      tokens.push(t);
      parents.push(p);
      depths.push(p < 0 ? 1 : depths[p]! + 1);
    }
    return { size: tokens.length, tokens: Int32Array.from(tokens), parents: Int32Array.from(parents), depths: Int32Array.from(depths) };
  }

  observe(): void {}
}

export { chainTree };

/** A random tree in BFS-compatible topological order: each node's parent precedes it. */
export function randomTree(rng: Rng, size: number, vocab: number): DraftTree {
  const tokens = new Int32Array(size);
  const parents = new Int32Array(size);
  const depths = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const p = Math.floor(rng.next() * (i + 1)) - 1; // -1 = under the root
    parents[i] = p;
    depths[i] = p < 0 ? 1 : depths[p]! + 1;
    tokens[i] = 3 + Math.floor(rng.next() * (vocab - 3));
  }
  return { size, tokens, parents, depths };
}
