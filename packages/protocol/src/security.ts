import { z } from "zod";
import { PERMISSIONS, PermissionSchema, UserRoleSchema } from "./enums";
import { AgentIdSchema, CapabilitySchema, EpochMsSchema, prefixedIdSchema, Sha256HexSchema } from "./ids";
import { LIMITS } from "./limits";
import { RolePresetSchema } from "./roles";

/** Request and response schemas of the security API: agent tokens, API keys, users, sessions, audit. */

const nullableEpoch = EpochMsSchema.nullable();

/** A list of permissions (deduplicated and ordered by the route that uses it). */
export const PermissionListSchema = z.array(PermissionSchema).max(PERMISSIONS.length * 2);

export const AgentTokenIdSchema = prefixedIdSchema("tok");
export const ApiKeyIdSchema = prefixedIdSchema("key");
export const UserIdSchema = prefixedIdSchema("usr");

// ----- agent tokens

export const MintAgentTokenBodySchema = z.strictObject({
  /** The one agent this token acts for. */
  agent_id: AgentIdSchema,
  /** A preset (worker, mobile, commander, admin); combined with `permissions` when both are given. */
  role: RolePresetSchema.optional(),
  /** Explicit permissions. Neither `role` nor `permissions`: an empty set, which grants nothing. */
  permissions: PermissionListSchema.optional(),
  /**
   * The capabilities the agent may register with under this token: registering beyond them is
   * 403 and the dispatcher never assigns it work outside them. Omitted: the capabilities of the
   * agent's first registration under this token become its binding (trust on first use).
   */
  capabilities: z
    .array(CapabilitySchema)
    .max(LIMITS.capabilitiesMax)
    .refine((list) => new Set(list).size === list.length, "capabilities must be unique")
    .optional(),
});
export type MintAgentTokenBody = z.infer<typeof MintAgentTokenBodySchema>;

export const AgentTokenSchema = z.object({
  id: AgentTokenIdSchema,
  agent_id: AgentIdSchema,
  /** Non-secret start of the token, to tell tokens apart. */
  prefix: z.string(),
  permissions: z.array(PermissionSchema),
  /** Capabilities the token's agent may serve; null: unbound. */
  capabilities: z.array(CapabilitySchema).nullable(),
  created_by: z.string().nullable(),
  created_at: EpochMsSchema,
  last_used_at: nullableEpoch,
  revoked_at: nullableEpoch,
});
export type AgentToken = z.infer<typeof AgentTokenSchema>;

export const MintedAgentTokenResponseSchema = z.object({
  /** The bearer token. Shown once: only its hash is stored. */
  token: z.string().startsWith("m3shd_ag_"),
  agent_token: AgentTokenSchema,
});
export type MintedAgentTokenResponse = z.infer<typeof MintedAgentTokenResponseSchema>;

export const AgentTokenListResponseSchema = z.object({ agent_tokens: z.array(AgentTokenSchema) });
export type AgentTokenListResponse = z.infer<typeof AgentTokenListResponseSchema>;

/** `DELETE /api/tokens/:id`: the token as revoked (revoking twice answers the same row). */
export const AgentTokenResponseSchema = z.object({ agent_token: AgentTokenSchema });
export type AgentTokenResponse = z.infer<typeof AgentTokenResponseSchema>;

export const ListAgentTokensQuerySchema = z.strictObject({
  agent_id: AgentIdSchema.optional(),
  include_revoked: z.enum(["true", "false"]).optional(),
});

// ----- API keys

const PerMinuteSchema = z.int().min(1).max(1_000_000).nullable();
const PerDaySchema = z.int().min(1).max(1_000_000_000).nullable();
const KeyNameSchema = z.string().trim().min(1).max(LIMITS.nameChars);

export const CreateApiKeyBodySchema = z.strictObject({
  name: KeyNameSchema,
  role: RolePresetSchema.optional(),
  permissions: PermissionListSchema.optional(),
  /** Requests per minute; null or absent = unlimited. */
  per_minute: PerMinuteSchema.optional(),
  /** Requests per UTC day; null or absent = unlimited. */
  per_day: PerDaySchema.optional(),
});
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBodySchema>;

export const UpdateApiKeyBodySchema = z.strictObject({
  name: KeyNameSchema.optional(),
  /** Replaces the key's permissions (with `role`, their union). */
  role: RolePresetSchema.optional(),
  permissions: PermissionListSchema.optional(),
  per_minute: PerMinuteSchema.optional(),
  per_day: PerDaySchema.optional(),
});
export type UpdateApiKeyBody = z.infer<typeof UpdateApiKeyBodySchema>;

export const ApiKeySchema = z.object({
  id: ApiKeyIdSchema,
  name: z.string(),
  prefix: z.string(),
  permissions: z.array(PermissionSchema),
  per_minute: z.int().nullable(),
  per_day: z.int().nullable(),
  usage: z.object({
    requests_total: z.int(),
    /** Accepted requests on `usage_day` (UTC). */
    requests_today: z.int(),
    usage_day: z.string().nullable(),
    last_used_at: nullableEpoch,
    /** Live counters of the current rate windows (counting refused attempts too), when asked for one key. */
    current_minute: z.int().optional(),
    current_day: z.int().optional(),
  }),
  created_by: z.string().nullable(),
  created_at: EpochMsSchema,
  revoked_at: nullableEpoch,
});
export type ApiKey = z.infer<typeof ApiKeySchema>;

export const CreatedApiKeyResponseSchema = z.object({
  /** The key. Shown once: only its hash is stored. */
  key: z.string().startsWith("m3shd_key_"),
  api_key: ApiKeySchema,
});
export type CreatedApiKeyResponse = z.infer<typeof CreatedApiKeyResponseSchema>;

export const ListApiKeysQuerySchema = z.strictObject({
  /** `true`: revoked keys too. */
  include_revoked: z.enum(["true", "false"]).optional(),
});

export const ApiKeyListResponseSchema = z.object({ api_keys: z.array(ApiKeySchema) });
export type ApiKeyListResponse = z.infer<typeof ApiKeyListResponseSchema>;

export const ApiKeyResponseSchema = z.object({ api_key: ApiKeySchema });
export type ApiKeyResponse = z.infer<typeof ApiKeyResponseSchema>;

// ----- users and sessions

export const UsernameSchema = z
  .string()
  .regex(/^[A-Za-z0-9._@-]{1,64}$/, "Expected a username of 1–64 letters, digits, . _ @ -");
/** A new password: 12 to 1024 characters (PBKDF2 pre-hashes long keys, so length costs nothing). */
export const NewPasswordSchema = z.string().min(12).max(1024);

export const CreateUserBodySchema = z.strictObject({
  username: UsernameSchema,
  password: NewPasswordSchema,
  role: UserRoleSchema.default("viewer"),
});
export type CreateUserBody = z.infer<typeof CreateUserBodySchema>;

export const UpdateUserBodySchema = z.strictObject({
  role: UserRoleSchema.optional(),
  /** Sets a new password and ends the user's sessions. */
  password: NewPasswordSchema.optional(),
  /** Disables (ends every session, refuses logins) or re-enables the user. */
  disabled: z.boolean().optional(),
});
export type UpdateUserBody = z.infer<typeof UpdateUserBodySchema>;

export const UserSchema = z.object({
  id: UserIdSchema,
  username: z.string(),
  role: UserRoleSchema,
  created_at: EpochMsSchema,
  updated_at: EpochMsSchema,
  last_login_at: nullableEpoch,
  disabled_at: nullableEpoch,
});
export type User = z.infer<typeof UserSchema>;

export const UserResponseSchema = z.object({ user: UserSchema });
export type UserResponse = z.infer<typeof UserResponseSchema>;
export const UserListResponseSchema = z.object({ users: z.array(UserSchema) });
export type UserListResponse = z.infer<typeof UserListResponseSchema>;

/** `DELETE /api/sessions`: how many live sessions were ended. */
export const RevokedSessionsResponseSchema = z.object({ revoked: z.int().min(0) });
export type RevokedSessionsResponse = z.infer<typeof RevokedSessionsResponseSchema>;

export const LoginBodySchema = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});
export type LoginBody = z.infer<typeof LoginBodySchema>;

export const LoginResponseSchema = z.object({
  user: UserSchema,
  /** Send back as `X-CSRF-Token` on every write made with the session cookie (also in the CSRF cookie). */
  csrf_token: z.string(),
  expires_at: EpochMsSchema,
});
export type LoginResponse = z.infer<typeof LoginResponseSchema>;

export const ChangePasswordBodySchema = z.strictObject({
  current_password: z.string().min(1).max(1024),
  new_password: NewPasswordSchema,
});
export type ChangePasswordBody = z.infer<typeof ChangePasswordBodySchema>;

/** `POST /api/auth/password`: the fresh session's CSRF token (every older session ended). */
export const PasswordChangedResponseSchema = z.object({
  csrf_token: z.string(),
  expires_at: EpochMsSchema,
});
export type PasswordChangedResponse = z.infer<typeof PasswordChangedResponseSchema>;

// ----- audit log

export const AuditQuerySchema = z.strictObject({
  /** `master`, `agent:<id>`, `key:<id>`, `user:<id>` or `anonymous`. */
  actor: z.string().max(128).optional(),
  /** Prefix of the action, e.g. `POST /api/tokens` or `POST /api/auth/login 429`. */
  action: z.string().max(256).optional(),
  target: z.string().max(256).optional(),
  since: z.coerce.number<string>().int().min(0).optional(),
  until: z.coerce.number<string>().int().min(0).optional(),
  cursor: z.string().max(LIMITS.cursorChars).optional(),
  limit: z.coerce.number<string>().int().min(1).max(LIMITS.listLimitMax).default(LIMITS.listLimitDefault),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

export const AuditEntrySchema = z.object({
  id: z.string(),
  actor: z.string(),
  /** `<METHOD> <route> <status>`, e.g. `POST /api/tasks/:id/cancel 200`. */
  action: z.string(),
  target: z.string().nullable(),
  ts: EpochMsSchema,
  ip: z.string().nullable(),
  /** SHA-256 of the request body as received; null when the body was never read (refused first). */
  payload_sha256: Sha256HexSchema.nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AuditListResponseSchema = z.object({
  entries: z.array(AuditEntrySchema),
  next_cursor: z.string().nullable(),
});
export type AuditListResponse = z.infer<typeof AuditListResponseSchema>;
