/**
 * The models shipped in the package's `models/` folder, by name. The CLI and the servers on Bun,
 * Deno and Node default to DEFAULT_MODEL (it writes far better Python); the single binary and the
 * edge bundle embed REFERENCE_MODEL (a fifth of the weights and of the memory, and it loads in
 * well under a second), which is also the test suite's fixture.
 */
import type { Host } from "../host.ts";

export const DEFAULT_MODEL = "edgespec-small";
export const REFERENCE_MODEL = "edgespec-tiny";

/**
 * The model folder a user named: a path, a bare name of a model shipped beside the host's default
 * (`edgespec-tiny`, `edgespec-small`) when no such folder exists here, or the default.
 */
export async function resolveModelDir(host: Host, given: string | undefined): Promise<string> {
  if (given === undefined) return host.defaultModelDir();
  if (/^[\w.-]+$/.test(given) && !(await host.isDirectory(given))) {
    const shipped = host.join(host.defaultModelDir(), "..", given);
    if (await host.isDirectory(shipped)) return shipped;
  }
  return given;
}
