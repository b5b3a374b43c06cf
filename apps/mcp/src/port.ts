import type {
  Agent,
  Approval,
  ApprovalListResponse,
  ApprovalStatus,
  ContextEntry,
  CreatePipelineInput,
  CreateTaskInput,
  DecideApprovalBody,
  ErrorCode,
  Message,
  PipelineResponse,
  ProvenanceResponse,
  StreamChunk,
  SummaryAnalytics,
  Task,
  TaskListResponse,
  TaskStatus,
  Template,
  WhoAmIResponse,
} from "@m3shd/protocol";

/*
 * The one seam between the MCP server and the hub. Every tool, resource, progress loop and the
 * Tasks adapter talk to the mesh only through a `MeshPort` bound to ONE credential (the caller's
 * token), so the hub's RBAC decides every call. The production implementation wraps
 * `@m3shd/client` (`client-port.ts`); nothing in this app writes HTTP by hand.
 *
 * Each method returns protocol types and throws a `MeshPortError` (or any error with a protocol
 * `code`, such as the client's typed errors) for an answer the hub refused.
 */

import type {
  MemoryEntryWire,
  SearchMemoryResponse as MemorySearchResult,
  StoreMemoryResponse as StoreMemoryResult,
} from "@m3shd/protocol";

export type MemoryEntry = MemoryEntryWire;
// The memory wire schemas are the protocol's (the memory service and the hub's proxy answer them);
// the names here are the ones the tools use.
export {
  MemoryEntrySchema,
  SearchMemoryResponseSchema as MemorySearchResultSchema,
  StoreMemoryResponseSchema as StoreMemoryResultSchema,
} from "@m3shd/protocol";
export type { MemorySearchResult, StoreMemoryResult };

export interface ListTasksInput {
  status?: TaskStatus;
  agent?: string;
  capability?: string;
  cursor?: string;
  limit?: number;
}

export interface ListChunksInput {
  attempt?: number;
  after?: number;
}

export interface SearchMemoryInput {
  q: string;
  /** One agent's memories; omitted = across agents (the hub decides who may). */
  agent_id?: string;
  tag?: string;
  limit?: number;
}

export interface StoreMemoryInput {
  agent_id: string;
  key: string;
  value: string;
  tags?: string[];
  confidence?: number;
  source_task_id?: string;
}

export interface DispatchTemplateInput {
  variables?: Record<string, string>;
  title?: string;
  priority?: number;
  assign_to?: string;
  depends_on?: string[];
  deadline?: number | string;
  max_attempts?: number;
}

export interface SendMessageInput {
  content: string;
  channel?: string;
  reply_to?: string;
}

/** The operations the MCP tools and resources need, each one hub route. */
export interface MeshPort {
  /** `GET /api/auth/me`: the credential's principal and permissions. */
  whoAmI(): Promise<WhoAmIResponse>;
  createTask(input: CreateTaskInput): Promise<Task>;
  getTask(id: string): Promise<Task>;
  listTasks(input: ListTasksInput): Promise<TaskListResponse>;
  cancelTask(id: string, reason?: string): Promise<Task>;
  /**
   * Streamed chunks, ordered by attempt then `seq`. `attempt` keeps one attempt's; `after` keeps
   * those with `seq > after` within each attempt listed (`seq` restarts at 0 on every attempt, so
   * `after` is only a cursor together with `attempt`).
   */
  listChunks(id: string, query?: ListChunksInput): Promise<StreamChunk[]>;
  createPipeline(input: CreatePipelineInput): Promise<PipelineResponse>;
  listTemplates(): Promise<Template[]>;
  dispatchTemplate(id: string, input: DispatchTemplateInput): Promise<Task>;
  listAgents(): Promise<Agent[]>;
  searchMemory(input: SearchMemoryInput): Promise<MemorySearchResult>;
  storeMemory(input: StoreMemoryInput): Promise<StoreMemoryResult>;
  listApprovals(input: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalListResponse>;
  decideApproval(id: string, input: DecideApprovalBody): Promise<Approval>;
  getContext(key: string): Promise<ContextEntry>;
  setContext(key: string, value: unknown): Promise<ContextEntry>;
  /** `POST /api/messages`: the sender is the credential's principal (or acting agent). */
  sendMessage(input: SendMessageInput): Promise<Message>;
  getProvenance(taskId: string): Promise<ProvenanceResponse>;
  summary(): Promise<SummaryAnalytics>;
}

/** A hub refusal as the port reports it: the protocol's error code and message. */
export class MeshPortError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "MeshPortError";
  }
}
