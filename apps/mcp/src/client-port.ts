import type { Client } from "@m3shd/client";
import {
  cancelTaskRoute,
  createPipelineRoute,
  createTaskRoute,
  decideApprovalRoute,
  dispatchTemplateRoute,
  getContextRoute,
  getTaskRoute,
  listAgentsRoute,
  listApprovalsRoute,
  listChunksRoute,
  listTasksRoute,
  listTemplatesRoute,
  postMessageRoute,
  putContextRoute,
  searchAllMemoryRoute,
  searchMemoryRoute,
  storeMemoryRoute,
  summaryAnalyticsRoute,
  taskProvenanceRoute,
  whoAmIRoute,
} from "@m3shd/protocol";
import { type MeshPort, MeshPortError } from "./port";

/**
 * The production `MeshPort`: every operation is one typed `@m3shd/client` call of the route's
 * descriptor, with the client's credential. The client's typed errors already carry the
 * protocol's code and message; only its transport failures are translated (`unreachable` →
 * `unavailable`, a broken 2xx → `internal`).
 */
export function createClientPort(client: Client): MeshPort {
  async function call<T>(run: () => Promise<{ body: T }>): Promise<T> {
    try {
      return (await run()).body;
    } catch (err) {
      throw translate(err);
    }
  }
  return {
    whoAmI: () => call(() => client.request(whoAmIRoute)),
    createTask: async (input) => (await call(() => client.request(createTaskRoute, { body: input }))).task,
    getTask: async (id) => (await call(() => client.request(getTaskRoute, { params: { id } }))).task,
    listTasks: (input) => call(() => client.request(listTasksRoute, { query: input })),
    cancelTask: async (id, reason) =>
      (await call(() => client.request(cancelTaskRoute, { params: { id }, body: reason ? { reason } : {} })))
        .task,
    listChunks: async (id, { attempt, after } = {}) =>
      (
        await call(() =>
          client.request(listChunksRoute, {
            params: { id },
            query: {
              ...(attempt === undefined ? {} : { attempt: String(attempt) }),
              ...(after === undefined ? {} : { after: String(after) }),
            },
          }),
        )
      ).chunks,
    createPipeline: (input) => call(() => client.request(createPipelineRoute, { body: input })),
    listTemplates: async () => (await call(() => client.request(listTemplatesRoute))).templates,
    dispatchTemplate: async (id, input) =>
      (await call(() => client.request(dispatchTemplateRoute, { params: { id }, body: input }))).task,
    listAgents: async () => (await call(() => client.request(listAgentsRoute))).agents,
    searchMemory: ({ agent_id, ...query }) =>
      agent_id === undefined
        ? call(() => client.request(searchAllMemoryRoute, { query }))
        : call(() => client.request(searchMemoryRoute, { params: { id: agent_id }, query })),
    storeMemory: ({ agent_id, ...body }) =>
      call(() => client.request(storeMemoryRoute, { params: { id: agent_id }, body })),
    listApprovals: (query) => call(() => client.request(listApprovalsRoute, { query })),
    decideApproval: async (id, body) =>
      (await call(() => client.request(decideApprovalRoute, { params: { id }, body }))).approval,
    getContext: async (key) => (await call(() => client.request(getContextRoute, { params: { key } }))).entry,
    setContext: async (key, value) =>
      (
        await call(() =>
          client.request(putContextRoute, {
            params: { key }, // The tool's input schema is `z.json()`: the value is JSON already.
            body: { value: value as never },
          }),
        )
      ).entry,
    sendMessage: async (body) => (await call(() => client.request(postMessageRoute, { body }))).message,
    getProvenance: (taskId) => call(() => client.request(taskProvenanceRoute, { params: { id: taskId } })),
    summary: () => call(() => client.request(summaryAnalyticsRoute, { query: { days: 1 } })),
  };
}

function translate(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "unreachable") return new MeshPortError("unavailable", "The hub could not be reached");
  if (code === "bad_response") return new MeshPortError("internal", "The hub answered outside its contract");
  return err;
}
