/**
 * What decoding needs of a sequence's cache: its length and in-place rollback. Its own module so
 * the model (causal-lm.ts) and the cache implementations (kv-cache.ts) both depend on it, not on
 * each other.
 */
export interface SequenceCache {
  readonly length: number;
  truncate(length: number): void;
  keep(positions: ArrayLike<number>): void;
  /** Frees what the cache holds outside JS memory (GPU buffers); a generation calls it when done. */
  release?(): void;
}
