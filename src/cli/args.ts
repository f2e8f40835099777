/**
 * A small, strict flag parser: every flag is declared with its type, unknown flags and bad values
 * are errors that name the flag (and list the valid ones), so a typo never silently does nothing.
 */
import type { ParamFailure } from "../decode/params.ts";
import { EdgespecError } from "../errors.ts";

export type FlagType = "string" | "int" | "number" | "boolean";
/**
 * `short`: a one-letter alias (`-n 32` for `--max-tokens 32`); `min`/`max`: the least and greatest
 * value a number flag takes (checked here, so every range error reads the same).
 */
export type FlagSpec = Record<string, { type: FlagType; help: string; default?: string; short?: string; min?: number; max?: number }>;
export type Flags = Record<string, string | number | boolean | undefined>;

/**
 * `positional`: the flag a bare argument stands for (generate's prompt: `edgespec generate "def f():"`);
 * at most one. `-h` is `--help` where the command has one.
 */
export function parseFlags(argv: readonly string[], spec: FlagSpec, opts: { positional?: string } = {}): Flags {
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    if (arg === "-h" && spec.help) arg = "--help";
    else if (/^-[a-zA-Z](=|$)/.test(arg)) {
      // `-n 5` and `-n=5`, as `--max-tokens 5` and `--max-tokens=5`.
      const long = Object.keys(spec).find((k) => spec[k]!.short === arg[1]);
      if (!long) throw new EdgespecError("invalid_argument", `unknown flag ${arg.slice(0, 2)}`, { validOptions: Object.entries(spec).filter(([, v]) => v.short).map(([k, v]) => `-${v.short} (--${k})`) });
      arg = `--${long}${arg.slice(2)}`;
    }
    if (!arg.startsWith("--")) {
      if (opts.positional && flags[opts.positional] === undefined && arg !== "-") {
        flags[opts.positional] = arg;
        continue;
      }
      throw new EdgespecError("invalid_argument", `unexpected argument "${arg}"`);
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const def = spec[name];
    if (!def) {
      throw new EdgespecError("invalid_argument", `unknown flag --${name}`, { validOptions: Object.keys(spec).map((k) => `--${k}`) });
    }
    if (def.type === "boolean") {
      const value = eq > 0 ? arg.slice(eq + 1) : "true";
      if (value !== "true" && value !== "false") throw new EdgespecError("invalid_argument", `--${name} takes no value (or =true, =false), got "${value}"`);
      flags[name] = value === "true";
      continue;
    }
    const raw = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new EdgespecError("invalid_argument", `--${name} needs a value`);
    flags[name] = convert(name, def, raw);
  }
  return flags;
}

/** Plain decimal integers: no sign but minus, no spaces, exponent, point, or 0x/0o/0b prefix. */
export const DECIMAL_INTEGER = /^-?\d+$/;
/** Plain decimal numbers (`0.7`, `.5`, `-1`, `1e-3`): no leading `+`, spaces, hex, Infinity. */
const DECIMAL_NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

function convert(name: string, def: FlagSpec[string], raw: string): string | number {
  const { type, min, max } = def;
  if (type === "string") return raw;
  const n = Number(raw);
  const fail = (what: string, got = `"${raw}"`) => new EdgespecError("invalid_argument", `--${name} must be ${what}, got ${got}`);
  // JavaScript's Number() also reads " 5", "+5", "0x10", "1e2": the grammar below is what a flag takes.
  if (raw.trim() === "" || !Number.isFinite(n)) throw fail("a number");
  if (type === "int") {
    if (!DECIMAL_INTEGER.test(raw)) throw fail("an integer");
    if (!Number.isSafeInteger(n)) throw fail(`an integer from -${Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}`);
  } else if (!DECIMAL_NUMBER.test(raw)) throw fail("a decimal number");
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    const bounds = [min === undefined ? "" : `>= ${min}`, max === undefined ? "" : `<= ${max}`].filter(Boolean).join(" and ");
    throw fail(`${type === "int" ? "an integer" : "a number"} ${bounds}`, String(n));
  }
  return n;
}

/** A generation parameter's error in the words of its flag (max_tokens -> --max-tokens). */
export const flagFailure: ParamFailure = (wire, message) => new EdgespecError("invalid_argument", message.replace(wire, `--${wire.replaceAll("_", "-")}`));

export function usage(command: string, spec: FlagSpec, operands = ""): string {
  const rows = Object.entries(spec).map(([k, v]) => {
    const left = `  ${v.short ? `-${v.short}, ` : (k === "help" ? "-h, " : "")}--${k}${v.type === "boolean" ? "" : ` <${v.type === "string" ? "value" : v.type}>`}`;
    return `${left.padEnd(32)}${v.help}${v.default ? ` (default ${v.default})` : ""}`;
  });
  return `usage: edgespec ${command} [flags]${operands ? ` ${operands}` : ""}\n${rows.join("\n")}\n`;
}
