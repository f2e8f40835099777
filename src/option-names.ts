/**
 * How a message names a model option, per caller. Messages of the shared load path (setup, load,
 * device choice, the native onnxruntime) are written once, naming the CLI's flags
 * (`use --device wasm`): the CLI prints them as they are. A library user set options, not flags,
 * so the library rewrites them here (`use device "wasm"`), through the one table below; the error
 * codes and everything else about an error stay as they were.
 */
import { KERNEL_CHOICES } from "./drafters/kernels/index.ts";
import { EdgespecError } from "./errors.ts";
import { DEVICES } from "./model/device-choice.ts";
import { DTYPES } from "./model/dtype.ts";

/**
 * Each flag that sets up a model (src/cli/model-flags.ts, setupDataFrom), as the library spells
 * it: the option, whose value a message may give after the flag (only a value the option takes
 * is read as one: "leave --threads unset" keeps "unset" as prose), or for a switch the setting
 * that does what it does.
 */
const LIBRARY_SPELLING: Record<string, { option: string; values?: (v: string) => boolean } | { setting: string }> = {
  "--model": { option: "model" },
  "--dtype": { option: "dtype", values: (v) => (DTYPES as readonly string[]).includes(v) },
  "--device": { option: "device", values: (v) => (DEVICES as readonly string[]).includes(v) },
  "--threads": { option: "threads", values: (v) => /^\d+$/.test(v) },
  "--packed-weights": { setting: "unpackWeights: false" },
  "--kernels": { option: "kernels", values: (v) => (KERNEL_CHOICES as readonly string[]).includes(v) },
  "--drafter": { option: "drafter" },
  "--corpus": { option: "corpus" },
};

// A flag as a whole word ("--device", not "--devices" or "--device-x"), and the word after it.
const FLAG = new RegExp(`(${Object.keys(LIBRARY_SPELLING).join("|")})(?![\\w-])(?: ([\\w.]+))?`, "g");

/** `text` with the CLI's flags (and their values) named as the library's options: `--device wasm` -> `device "wasm"`. */
export function inLibraryTerms(text: string): string {
  return text.replace(FLAG, (_, flag: string, next: string | undefined) => {
    const spelled = LIBRARY_SPELLING[flag]!;
    if ("setting" in spelled) return spelled.setting + (next === undefined ? "" : ` ${next}`);
    if (next === undefined || !spelled.values?.(next)) return spelled.option + (next === undefined ? "" : ` ${next}`);
    return `${spelled.option} ${/^\d+$/.test(next) ? next : `"${next}"`}`;
  });
}

/**
 * `e` with its message in the library's terms, when it is an EdgespecError (the only errors whose
 * messages name flags). The same error, so its code, cause, valid options and class are kept.
 */
export function errorInLibraryTerms(e: unknown): unknown {
  if (e instanceof EdgespecError) {
    const message = inLibraryTerms(e.message);
    if (message !== e.message) {
      if (e.stack) e.stack = e.stack.replace(e.message, message);
      e.message = message;
    }
  }
  return e;
}
