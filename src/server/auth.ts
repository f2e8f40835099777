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

/** Host names a loopback-only server answers to (any port). */
export const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"];

/** The host name of a Host header value ("[::1]:8080" -> "[::1]", "Example.com:80" -> "example.com"). */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.indexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
}

/**
 * Refuses requests whose Host header names another host: a web page cannot reach a server on
 * loopback through DNS rebinding (its requests carry the attacker's host name), which matters
 * when no API key guards the server.
 */
export function hostCheck(allowed: readonly string[]): MiddlewareHandler {
  const names = new Set(allowed.map((h) => h.toLowerCase()));
  return async (c, next) => {
    const header = c.req.header("host");
    const name = header === undefined ? undefined : hostName(header);
    if (name === undefined || !names.has(name)) {
      throw new ApiError(403, `host ${JSON.stringify(header ?? "")} is not allowed (this server answers to ${[...names].join(", ")}; see --allowed-hosts)`, "permission_error", null, "host_not_allowed");
    }
    return next();
  };
}
