/**
 * DNS rebinding: a page on evil.example whose name resolves to 127.0.0.1 sends requests with
 * `Host: evil.example`. A loopback server without an API key answers only to loopback names.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { allowedHostsFor } from "../../src/cli/serve.ts";
import { hostName, LOOPBACK_HOSTS } from "../../src/server/auth.ts";
import { MODEL_ID, postJson, startServer, type TestServer } from "./helpers.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ allowedHosts: [...LOOPBACK_HOSTS, "127.0.0.1"] });
});
afterAll(() => server.close());

describe("Host header check", () => {
  test("a request naming another host gets 403 with an OpenAI error body, on every route", async () => {
    for (const [method, path] of [["GET", "/health"], ["GET", "/v1/models"], ["POST", "/v1/completions"], ["GET", "/"]] as const) {
      const res = await fetch(`${server.url}${path}`, { method, headers: { host: "evil.example", "content-type": "application/json" }, body: method === "POST" ? JSON.stringify({ model: MODEL_ID, prompt: "x", max_tokens: 1 }) : undefined });
      expect(res.status).toBe(403);
      const body = await res.json();
      expect(body.error.code).toBe("host_not_allowed");
      expect(body.error.type).toBe("permission_error");
    }
  });

  test("loopback names, with any port, are served", async () => {
    for (const host of ["localhost:8080", "127.0.0.1", "LOCALHOST", "[::1]:9"]) {
      const res = await fetch(`${server.url}/health`, { headers: { host } });
      expect({ host, status: res.status }).toEqual({ host, status: 200 });
    }
    const res = await postJson(`${server.url}/v1/completions`, { model: MODEL_ID, prompt: "x", max_tokens: 1 });
    expect(res.status).toBe(200);
  });

  test("hostName strips the port and lowercases; IPv6 keeps its brackets", () => {
    expect(hostName("Example.COM:80")).toBe("example.com");
    expect(hostName("[::1]:8080")).toBe("[::1]");
    expect(hostName("localhost")).toBe("localhost");
  });
});

describe("serve's default", () => {
  test("loopback without a key: loopback names only; with a key, or bound elsewhere: no check", () => {
    expect(allowedHostsFor(undefined, "127.0.0.1", false)).toEqual([...LOOPBACK_HOSTS, "127.0.0.1"]);
    expect(allowedHostsFor(undefined, "::1", false)).toContain("[::1]");
    expect(allowedHostsFor(undefined, "127.0.0.1", true)).toBeUndefined();
    expect(allowedHostsFor(undefined, "0.0.0.0", false)).toBeUndefined();
  });
  test("--allowed-hosts replaces the default; any turns it off; empty is an error", () => {
    expect(allowedHostsFor("my.box, Other", "127.0.0.1", false)).toEqual(["my.box", "other"]);
    expect(allowedHostsFor("any", "127.0.0.1", false)).toBeUndefined();
    expect(() => allowedHostsFor(" , ", "127.0.0.1", false)).toThrow(/--allowed-hosts is empty/);
  });
});
