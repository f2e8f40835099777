/**
 * The one interface between the speculative engine and the drafters. A drafter guesses future
 * tokens from what it has seen; the engine verifies the guesses with the model and reports back.
 * The engine knows drafters only through these three verbs.
 */

/**
 * A draft tree in plain typed arrays (crosses the WASM boundary without object copies).
 * The root is implicit: the last token of the sequence so far. Node i holds `tokens[i]`, hangs
 * under `parents[i]` (-1 = under the root) at `depths[i]` (1 = child of the root). Nodes are in
 * topological order (a parent comes before its children); breadth-first order is preferred.
 * No two children of one parent carry the same token.
 */
export interface DraftTree {
  size: number;
  tokens: Int32Array;
  parents: Int32Array;
  depths: Int32Array;
  /** Optional: which source proposed each node (index into the hybrid's source list), for stats. */
  sources?: Uint8Array;
  /**
   * Optional: each node's confidence class, the drafter's guess of how often such a node is
   * accepted when its parent is: class c in 1..9 means about c/10 (0 = no guess). The tree
   * selector starts every (source, class) from that guess and learns its real rates apart, so a
   * class that tells sure guesses from unsure ones gets the sure ones verified deeper from the
   * first steps of a request.
   */
  classes?: Uint8Array;
  /**
   * Optional: 1 where a source other than the node's own (`sources`) proposed it too, as the tree
   * kernels mark it when a second source adds a node already there. Two sources that agree are
   * right more often (the hybrid raises such nodes' classes).
   */
  agreed?: Uint8Array;
}

/** What the model did at one verification step. */
export interface VerifyUpdate {
  /**
   * Tokens appended to the sequence at this step, in order: the accepted draft tokens followed by
   * the bonus token. For the prefill observation: the first generated token (the prompt itself
   * came through `reset`). After `observe`, the sequence is the previous one + `accepted`.
   */
  accepted: ArrayLike<number>;
  /**
   * The tokens that were fed to the model at this step, in feed order (for a tree step: the root
   * token followed by the tree's nodes; for the prefill: the prompt's last tokens, up to 64: the
   * engine reads candidates for those rows only).
   */
  verifiedTokens: ArrayLike<number>;
  /**
   * Optional: the row of each verified token's parent (row i's parent is a row before i; -1 = the
   * token before verifiedTokens[0] in the sequence, none for a prefill). Absent: a chain (i - 1).
   * What context each row's candidates were computed in: the tree's shape, which the drafter did
   * not see when the engine verified only part of its proposal.
   */
  verifiedParents?: Int32Array;
  /** Row i (k ids, best first) = the model's top-k next tokens after verifiedTokens[i]. */
  topK: Int32Array;
  /** Ids per row of `topK`. */
  k: number;
}

export interface Drafter {
  readonly name: string;
  /** Names for the indices in `DraftTree.sources` (a hybrid's parts); absent = all are `name`. */
  readonly sourceNames?: readonly string[];
  /**
   * How many of the model's best candidates per verified row the drafter learns from (Token
   * Recycling's k). Absent or 0: none, and the engine does not compute them (a vocabulary-wide
   * scan of every row it verifies), so `VerifyUpdate.topK` is empty with k = 0.
   */
  readonly candidatesPerRow?: number;
  /** Start a request with these prompt tokens. Cross-request memory (if any) is kept. */
  reset(promptTokens: ArrayLike<number>): void;
  /** A tree of at most `budget` nodes; an empty tree (size 0) means "no guess", never an exception. */
  propose(budget: number): DraftTree;
  /** What verification found at the last step. */
  observe(update: VerifyUpdate): void;
}

/** A drafter plus what its owner needs: its state's size, and freeing WASM memory. */
export interface ManagedDrafter extends Drafter {
  memoryBytes(): number;
  dispose(): void;
}

/** Confidence classes (`DraftTree.classes`): 0 = no guess, c = about c/10 accepted. */
export const CONFIDENCE_CLASSES = 10;

/** The confidence class of a guess expected to be accepted with probability `rate`. */
export function confidenceClass(rate: number): number {
  return Math.min(Math.max(Math.round(rate * 10), 1), CONFIDENCE_CLASSES - 1);
}

/** The acceptance rate a confidence class stands for (class 0, no guess: none). */
export function classRate(confidence: number): number {
  return confidence / 10;
}

export function emptyTree(): DraftTree {
  return { size: 0, tokens: new Int32Array(0), parents: new Int32Array(0), depths: new Int32Array(0) };
}
