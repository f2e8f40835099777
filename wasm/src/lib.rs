//! edgespec's retrieval-drafter kernels. Dependency-free; built for wasm32-unknown-unknown with
//! SIMD (see build.sh) and loaded by src/wasm/loader.ts. Every kernel has a TypeScript twin under
//! src/drafters/kernels/ts/ and a differential test holds the two equal.
//!
//! ABI (plain `extern "C"`, see ffi.rs): objects are heap boxes passed as pointers (handles).
//! Input goes through a per-object scratch buffer: `*_input(h, n)` returns where to write n
//! i32s, then the operation reads them. Outputs are read from returned pointers. Any call that
//! allocates may grow the memory, so the host re-reads `memory.buffer` after calls.

pub mod ffi;
pub mod ngram;
pub mod sam;
pub mod table;
pub mod tree;
