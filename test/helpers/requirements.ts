/**
 * Tests that need something outside the repository (a browser, a WebGPU adapter, Debian's Rust
 * toolchain). Where the requirement is missing they are skipped, visibly, with the reason in the
 * test's name; under CI (`CI` set, as `.ci/run` does) a missing requirement is a failure instead,
 * because CI installs all of them and a skip there would hide a broken install.
 */
import { test } from "bun:test";
import { existsSync } from "node:fs";
import { BIN, run } from "./model.ts";

export const IN_CI = !!process.env.CI && process.env.CI !== "0" && process.env.CI !== "false";

type TestFn = typeof test;

/** `test` when `available`; else a failing test under CI and a skipped one elsewhere. */
export function testWhen(available: boolean, requirement: string): TestFn {
  if (available) return test;
  if (IN_CI) {
    const failing = ((name: string, _fn: unknown, opts?: number) =>
      test(name, () => {
        throw new Error(`requirement missing under CI: ${requirement}`);
      }, opts)) as unknown as TestFn;
    return failing;
  }
  const skipped = ((name: string, fn: Parameters<TestFn>[1], opts?: number) => test.skip(`${name} [skipped: ${requirement}]`, fn, opts)) as unknown as TestFn;
  return skipped;
}

let adapter: Promise<boolean> | undefined;
/** Whether Deno's navigator.gpu gives an adapter here (llvmpipe via mesa-vulkan-drivers in CI). */
export function denoHasWebGpu(): Promise<boolean> {
  adapter ??= run([BIN.deno[0]!, "eval", "console.log(!!(await navigator.gpu?.requestAdapter()))"]).then((p) => p.stdout.trim() === "true");
  return adapter;
}
export const WEBGPU_REQUIREMENT = "a WebGPU adapter under Deno (apt-get install mesa-vulkan-drivers; set XDG_RUNTIME_DIR)";

/** Debian's rustc/cargo with the wasm32 std and rust-lld, as wasm/build.sh uses them. */
export function debianRust(): { rustc: string; ok: boolean } {
  const ok = existsSync("/usr/bin/rustc") && existsSync("/usr/bin/cargo") && existsSync("/usr/lib/rustlib/wasm32-unknown-unknown") && hasRustLld();
  if (!ok) return { rustc: "", ok };
  const r = Bun.spawnSync(["/usr/bin/rustc", "--version"]);
  return { rustc: r.exitCode === 0 ? r.stdout.toString().trim() : "", ok: r.exitCode === 0 };
}
export const RUST_REQUIREMENT = "Debian's rustc, cargo, libstd-rust-dev-wasm32 and lld-14 (rust-lld)";

/** rustc's /usr/bin/rust-lld is a symlink to lld-14's binary, which rustc only Recommends. */
function hasRustLld(): boolean {
  return existsSync("/usr/bin/rust-lld"); // follows the link: false while lld-14 is missing
}
