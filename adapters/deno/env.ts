/**
 * Environment variables under Deno, whose permission system may refuse to read them (run without
 * --allow-env): a setting that only adds (EDGESPEC_DEBUG) is then taken as unset, but one whose
 * absence changes what a server lets through (EDGESPEC_API_KEY) must not be, or a key the operator
 * set would be dropped silently and the server would answer everyone.
 */
import { EdgespecError, isPermissionRefusal } from "../../src/errors.ts";

declare const Deno: { env: { get(k: string): string | undefined } };

/** The variable, or undefined when unset or when Deno may not read it. */
export function optionalEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (e) {
    if (isPermissionRefusal(e)) return undefined;
    throw e;
  }
}

/** The variable, or undefined when unset; a refusal is a permission_denied error naming the flag to grant. */
export function guardedEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (e) {
    if (isPermissionRefusal(e)) throw new EdgespecError("permission_denied", `Deno may not read the environment variable ${name}: run with --allow-env (or -A)`, { cause: e });
    throw e;
  }
}
