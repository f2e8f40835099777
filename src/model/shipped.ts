/**
 * The models shipped in the package's `models/` folder, by name. The CLI and the servers on Bun,
 * Deno and Node default to DEFAULT_MODEL (it writes far better Python); the single binary and the
 * edge bundle embed REFERENCE_MODEL (a fifth of the weights and of the memory, and it loads in
 * well under a second), which is also the test suite's fixture.
 */
export const DEFAULT_MODEL = "edgespec-small";
export const REFERENCE_MODEL = "edgespec-tiny";
