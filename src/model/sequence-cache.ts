/**
 * What decoding needs of a sequence's cache: its length and in-place rollback. Its own module so
 * the model (causal-lm.ts) and the cache implementations (kv-cache.ts) both depend on it, not on
 * each other.
 */
export interface SequenceCache {
  readonly length: number;
  truncate(length: number): void;
  keep(positions: ArrayLike<number>): void;
  /**
   * The cache is done with (a generation calls it at its end): what it holds outside JS memory
   * (GPU buffers) is freed, and its CPU buffers may serve the next cache of the model (kv-cache.ts
   * KvBufferPool), so it must not be used again.
   */
  release?(): void;
}
