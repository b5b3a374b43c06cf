import { spawn } from "node:child_process";
import type { Mesh } from "@m3shd/mesh";
import { ROLE_PRESETS, revokeTokenRoute } from "@m3shd/protocol";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type CallToolResult, CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, onTestFinished, test } from "vitest";
import {
  assertBuilt,
  hubClient,
  MASTER,
  MCP_BINARY,
  mintToken,
  startJobsWorker,
  startTestMesh,
  until,
} from "./helpers";

/** The built binary in `http` mode, in its own process, on an ephemeral port. */
async function startHttpServer(mesh: Mesh) {
  assertBuilt();
  const child = spawn(process.execPath, [MCP_BINARY, "http"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      M3SHD_HUB_URL: mesh.url,
      M3SHD_MCP_PORT: "0",
      M3SHD_MCP_POLL_MS: "50",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  onTestFinished(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  });
  const line = await until(
    () => stderr.split("\n").find((l) => l.includes("serving Streamable HTTP")),
    15_000,
    `the HTTP server to start (stderr: ${stderr})`,
  );
  const url = JSON.parse(line).url as string;
  return { url, origin: new URL(url).origin, child, stderr: () => stderr };
}

async function connect(url: string, token: string) {
  const client = new Client({ name: "http-e2e", version: "0.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  onTestFinished(() => client.close());
  return client;
}

function result(value: unknown): CallToolResult {
  return CallToolResultSchema.parse(value) as CallToolResult;
}

describe("Streamable HTTP: the built binary in its own process against a real hub and worker", () => {
  test("metadata, the 401 challenge, hub-checked tokens and per-token tools", {
    timeout: 90_000,
  }, async () => {
    const mesh = await startTestMesh();
    startJobsWorker(mesh, "w-http", ["echo"]);
    const server = await startHttpServer(mesh);

    const meta = await fetch(`${server.origin}/.well-known/oauth-protected-resource/mcp`);
    expect(meta.status).toBe(200);
    expect(await meta.json()).toMatchObject({ resource: server.url, authorization_servers: [mesh.url] });
    expect((await fetch(`${server.origin}/.well-known/oauth-protected-resource`)).status).toBe(200);

    const anonymous = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }),
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe(
      `Bearer resource_metadata="${server.origin}/.well-known/oauth-protected-resource/mcp"`,
    );
    await expect(connect(server.url, "not-a-real-token")).rejects.toThrow();

    // The master token: all 17 tools; a dispatch runs to completion on the real worker.
    const admin = await connect(server.url, MASTER);
    expect((await admin.listTools()).tools).toHaveLength(17);
    const dispatched = result(
      await admin.callTool({
        name: "dispatch_task",
        arguments: { title: "t", prompt: "over http", capability: "echo" },
      }),
    );
    const taskId = (dispatched.structuredContent as { task_id: string }).task_id;
    const awaited = result(
      await admin.callTool({ name: "await_task", arguments: { task_id: taskId, timeout_s: 30 } }),
    );
    expect(awaited.structuredContent).toMatchObject({ state: "finished", task: { output: "over http" } });

    // A worker-preset token sees fewer tools; a bad argument is a tool error.
    const weak = await mintToken(mesh, "agent-http-weak", ROLE_PRESETS.worker);
    const weakClient = await connect(server.url, weak.token);
    const names = (await weakClient.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain("decide_approval");
    expect(names).not.toContain("mesh_summary");
    expect(names).toContain("get_task");
    const denied = result(await weakClient.callTool({ name: "mesh_summary", arguments: {} }));
    expect(denied.isError).toBe(true);
    const bad = result(await weakClient.callTool({ name: "get_task", arguments: { task_id: 42 } }));
    expect(bad.isError).toBe(true);

    // Revoked at the hub: the very next MCP request is a 401.
    await hubClient(mesh).request(revokeTokenRoute, { params: { id: weak.agent_token.id } });
    await expect(weakClient.listTools()).rejects.toThrow();

    // DNS rebinding: a foreign Host never reaches the hub.
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(server.url);
      const req = request(
        { host: u.hostname, port: u.port, path: "/mcp", method: "POST", headers: { host: "evil.example" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end("{}");
    });
    expect(status).toBe(403);
  });
});
