/**
 * API-key check. The presented key and the configured one are both hashed (SHA-256) and the
 * digests compared in constant time, so neither the key's content nor its length leaks through
 * response timing.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./api-error.ts";

const enc = new TextEncoder();

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(s)));
}

export async function sameKey(given: string, expected: Uint8Array): Promise<boolean> {
  const d = await digest(given);
  let diff = 0;
  for (let i = 0; i < d.length; i++) diff |= d[i]! ^ expected[i]!;
  return diff === 0;
}

/** The key a request presents: `Authorization: Bearer KEY` or `X-Api-Key: KEY`. */
export function presentedKey(req: Request): string | undefined {
  const auth = req.headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1]!.trim();
  }
  return req.headers.get("x-api-key")?.trim() || undefined;
}

/** Guards every path except `openPaths` (and CORS preflights, which carry no credentials). */
export function apiKeyAuth(apiKey: string, openPaths: readonly string[]): MiddlewareHandler {
  const expected = digest(apiKey);
  return async (c, next) => {
    if (c.req.method === "OPTIONS" || openPaths.includes(c.req.path)) return next();
    const given = presentedKey(c.req.raw);
    if (given === undefined || !(await sameKey(given, await expected))) {
      const why = given === undefined ? "missing API key (send Authorization: Bearer KEY or X-Api-Key)" : "incorrect API key";
      throw new ApiError(401, why, "authentication_error", null, "invalid_api_key", { "WWW-Authenticate": 'Bearer realm="edgespec"' });
    }
    return next();
  };
}
