import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { onTestFinished } from "vitest";
import type { MeshPort } from "../src/port";
import { createMeshServer, type MeshServerOptions } from "../src/server";

/** The SDK's own `Client` connected over `InMemoryTransport` to a server over `port`. */
export async function connectInMemory(
  port: MeshPort,
  options: Omit<MeshServerOptions, "port" | "permissions"> = {},
) {
  const me = await port.whoAmI();
  const errors: unknown[] = [];
  const meshServer = createMeshServer({
    port,
    permissions: me.permissions,
    pollMs: 20,
    log: (err) => errors.push(err),
    ...options,
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "m3shd-test", version: "0.0.0" });
  await meshServer.server.connect(serverSide);
  await client.connect(clientSide);
  onTestFinished(async () => {
    await client.close();
    await meshServer.close();
  });
  return { client, meshServer, errors };
}
