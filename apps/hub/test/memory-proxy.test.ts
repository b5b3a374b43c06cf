import { ErrorBodySchema } from "@m3shd/protocol";
import { describe, expect } from "vitest";
import { serveHub } from "../src/server";
import { MASTER, SECURITY_HEADERS, secTest as test } from "./security-fixture";

describe("memory proxy", () => {
  test("a body over the memory API's limit is 413 with the envelope and the request's id", async ({ t }) => {
    const served = await serveHub(t.hub, { host: "127.0.0.1", port: 0 });
    try {
      const body = JSON.stringify({ key: "k", content: "x".repeat(2 * 1024 * 1024) });
      for (const chunked of [false, true]) {
        const res = await fetch(`${served.url}/api/agents/alpha/memory`, {
          method: "POST",
          headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
          // A stream has no Content-Length: the proxy must count the bytes itself.
          body: chunked ? new Blob([body]).stream() : body,
          ...(chunked ? { duplex: "half" } : {}),
        } as RequestInit);
        expect(res.status, `chunked=${chunked}`).toBe(413);
        const env = ErrorBodySchema.parse(await res.json());
        expect(env.error.code).toBe("payload_too_large");
        expect(env.error.request_id).toBeTruthy();
        expect(env.error.request_id).toBe(res.headers.get("x-request-id"));
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(k), k).toBe(v);
      }
    } finally {
      await served.close();
    }
  });
});
