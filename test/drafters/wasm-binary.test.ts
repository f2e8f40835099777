/**
 * The committed kernels binary is current (built from the committed sources, unchanged since),
 * and the loader behaves: bytes, URL or Response, a fresh instance per call (nothing shared
 * between models), typed errors. A full rebuild-and-compare is `wasm/build.sh --check`.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDrafter } from "../../src/drafters/index.ts";
import { loadWasmKernels, wasmKernels } from "../../src/drafters/kernels/wasm/index.ts";
import { EdgespecError } from "../../src/errors.ts";
import { instantiateKernels, KERNELS_WASM_PATH } from "../../src/drafters/kernels/wasm/loader.ts";
import { WasmRecyclingTable } from "../../src/drafters/kernels/wasm/recycling-table.ts";
import { debianRust, RUST_REQUIREMENT, testWhen } from "../helpers/requirements.ts";
import { WASM_PATH } from "./helpers.ts";

const CRATE = new URL("../../wasm/", import.meta.url).pathname;
const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");
const manifest = JSON.parse(readFileSync(`${CRATE}pkg/manifest.json`, "utf8")) as { binary: string; binarySha256: string; sourcesSha256: string; rustc: string };

// Debian's toolchain as build.sh uses it; the rebuild check needs the very rustc that built the binary.
const rust = debianRust();

describe("committed WASM binary", () => {
  test("matches the sources it was built from (run wasm/build.sh after editing wasm/)", async () => {
    // Same recipe as build.sh: `sha256sum` lines of the inputs sorted by path, hashed again.
    const rs = (readdirSync(`${CRATE}src`, { recursive: true }) as string[]).filter((f) => f.endsWith(".rs")).map((f) => `src/${f}`);
    const files = [...rs, "Cargo.toml", "Cargo.lock", ".cargo/config.toml", "build.sh"].sort();
    const lines = await Promise.all(files.map(async (f) => `${sha256(await Bun.file(CRATE + f).bytes())}  ${f}\n`));
    expect(sha256(lines.join(""))).toBe(manifest.sourcesSha256);
    expect(sha256(await Bun.file(WASM_PATH).bytes())).toBe(manifest.binarySha256);
    expect(`wasm/pkg/${manifest.binary}`).toBe(KERNELS_WASM_PATH);
  });

  // Without the toolchain this is skipped (failed under CI); the source hash above still runs.
  testWhen(rust.ok && rust.rustc === manifest.rustc, `${RUST_REQUIREMENT}, rustc = ${manifest.rustc}`)(`rebuilding with ${manifest.rustc} gives the committed bytes (wasm/build.sh --check)`, () => {
    const r = Bun.spawnSync(["sh", `${CRATE}build.sh`, "--check"]);
    expect(`${r.stdout}${r.stderr}`).toContain("is current");
    expect(r.exitCode).toBe(0);
  });

  // The crate's own unit tests (wasm/src/*.rs) on the host, with the same Debian toolchain.
  testWhen(rust.ok, RUST_REQUIREMENT)("the crate's Rust unit tests pass (cargo test)", () => {
    const target = mkdtempSync(join(tmpdir(), "edgespec-cargo-"));
    try {
      const r = Bun.spawnSync(["/usr/bin/cargo", "test", "--locked", "--offline", "-j2"], { cwd: CRATE, env: { ...process.env, RUSTC: "/usr/bin/rustc", CARGO_TARGET_DIR: target } });
      const out = `${r.stdout}${r.stderr}`;
      if (r.exitCode !== 0) throw new Error(out);
      const passed = [...out.matchAll(/test result: ok\. (\d+) passed; 0 failed/g)].reduce((a, m) => a + Number(m[1]), 0);
      expect(passed).toBeGreaterThanOrEqual(14);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  test("has no imports and uses SIMD", async () => {
    const bytes = await Bun.file(WASM_PATH).bytes();
    const module = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(module)).toEqual([]);
    // i8x16.shuffle (0xFD 0x0D) from table.rs's row packing: the binary was built with +simd128
    expect(Buffer.from(bytes).includes(Buffer.from([0xfd, 0x0d]))).toBe(true);
  });
});

describe("kernel loader", () => {
  test("each instantiation is its own instance: objects of one live in its memory only", async () => {
    const bytes = await Bun.file(WASM_PATH).bytes();
    const [a, b] = await Promise.all([instantiateKernels(bytes), instantiateKernels(bytes)]);
    expect(a).not.toBe(b);
    expect(a.memory).not.toBe(b.memory);
    // The same drafting on both, with one instance's memory wiped in between, is unaffected in the other.
    const da = createDrafter("ngram", { vocabSize: 10, kernels: wasmKernels(a) });
    const db = createDrafter("ngram", { vocabSize: 10, kernels: wasmKernels(b) });
    da.reset([1, 2, 3, 1, 2]);
    db.reset([1, 2, 3, 1, 2]);
    new Uint8Array(a.memory.buffer).fill(0);
    expect(Array.from(db.propose(4).tokens)).toEqual([3, 1, 2]);
    expect(wasmKernels(a)).toBe(wasmKernels(a)); // one set (and heap) per instance
  });

  test("the heap follows the memory when it grows, and writes only the ids it is given", async () => {
    const ex = await instantiateKernels(await Bun.file(WASM_PATH).bytes());
    const set = wasmKernels(ex);
    const table = set.recyclingTable(100, 2);
    table.update([3], Int32Array.of(7, 8), 2); // the heap's view of the memory is taken here
    const before = ex.memory.buffer;
    ex.memory.grow(2); // detaches that view's buffer
    expect(ex.memory.buffer).not.toBe(before);
    // 1 row of 2 candidates from a longer top-k array: only its first 2 ids are the row, and only
    // they are copied in. The update's input (1 token + 2 ids) goes where a same-sized request
    // for it points (the table keeps that buffer); what lies past it must be left as it was.
    const input = ex.table_input((table as WasmRecyclingTable).raw, 3) >>> 2;
    const past = () => Array.from(new Int32Array(ex.memory.buffer, 4 * (input + 3), 4));
    const untouched = past();
    table.update([4], Int32Array.of(5, 6, 90, 91), 2);
    expect([table.get(3, 0), table.get(3, 1), table.get(4, 0), table.get(4, 1)]).toEqual([7, 8, 5, 6]);
    expect(past()).toEqual(untouched);
    const tree = set.tree();
    tree.clear(4);
    tree.add(-1, 9, 0);
    ex.memory.grow(1);
    expect(Array.from(tree.finish().tokens)).toEqual([9]);
  });

  test("a failure is reported as not_ready, and a later call can succeed", async () => {
    const err = await instantiateKernels(new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgespecError);
    expect((err as EdgespecError).code).toBe("not_ready");
    expect((await instantiateKernels(await Bun.file(WASM_PATH).bytes())).memory).toBeInstanceOf(WebAssembly.Memory);
  });

  test("a module without the kernels' exports is refused with a rebuild hint", async () => {
    const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]); // a valid, empty module
    const err = await instantiateKernels(empty).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/does not match this edgespec .*rebuild it with wasm\/build.sh/);
  });

  test("loads from a URL (the default file next to the package, via fetch on Bun) and from a Response", async () => {
    expect((await instantiateKernels()).memory).toBeInstanceOf(WebAssembly.Memory);
    const set = await loadWasmKernels(new Response(await Bun.file(WASM_PATH).bytes()));
    const d = createDrafter("ngram", { vocabSize: 10, kernels: set });
    d.reset([1, 2, 3, 1, 2]);
    expect(Array.from(d.propose(4).tokens)).toEqual([3, 1, 2]);
    const missing = await instantiateKernels(new URL("file:///nonexistent/edgespec_kernels.wasm")).catch((e: unknown) => e);
    expect((missing as EdgespecError).code).toBe("not_ready");
  });

  test("WASM objects are freed on dispose and refuse use afterwards", async () => {
    const set = await loadWasmKernels(await Bun.file(WASM_PATH).bytes());
    const sam = set.automaton(64);
    sam.append([1, 2, 1]);
    sam.dispose();
    sam.dispose(); // idempotent
    expect(() => sam.append([1])).toThrow(/disposed/);
  });
});
