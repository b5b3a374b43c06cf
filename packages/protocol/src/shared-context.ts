import { z } from "zod";
import { EpochMsSchema } from "./ids";
import { utf8ByteLength } from "./limits";
import { CursorSchema, ListLimitSchema } from "./pagination";

/**
 * Shared context: a mesh-wide key/value store of JSON values that operators and agents read and
 * write (`GET/PUT/DELETE /api/context/:key`). Each entry records who set it.
 */

/** Context keys: safe in a URL path segment without encoding. */
export const ContextKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,200}$/, "Expected a key matching ^[A-Za-z0-9_.:-]{1,200}$");
export type ContextKey = z.infer<typeof ContextKeySchema>;

/** Largest value, measured as its JSON serialization in UTF-8. */
export const CONTEXT_VALUE_MAX_BYTES = 64 * 1024;

/** One entry as the API returns it. */
export const ContextEntrySchema = z.object({
  key: ContextKeySchema,
  value: z.json(),
  /** Who wrote the current value: an agent id, or the caller's subject (`master`, `user:<id>`…). */
  set_by: z.string(),
  updated_at: EpochMsSchema,
});
export type ContextEntry = z.infer<typeof ContextEntrySchema>;

/** `PUT /api/context/:key`. */
export const PutContextBodySchema = z.strictObject({
  value: z.json().superRefine((value, ctx) => {
    const bytes = utf8ByteLength(JSON.stringify(value) ?? "null");
    if (bytes > CONTEXT_VALUE_MAX_BYTES) {
      ctx.addIssue({
        code: "too_big",
        origin: "string",
        maximum: CONTEXT_VALUE_MAX_BYTES,
        inclusive: true,
        input: value,
        message: `Too big: the value must serialize to at most ${CONTEXT_VALUE_MAX_BYTES} bytes`,
      });
    }
  }),
});
export type PutContextBody = z.infer<typeof PutContextBodySchema>;

/** `GET /api/context`: keys in order, optionally only those starting with `prefix`. */
export const ListContextQuerySchema = z.strictObject({
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{0,200}$/)
    .optional(),
  cursor: CursorSchema.optional(),
  limit: ListLimitSchema,
});
export type ListContextQuery = z.output<typeof ListContextQuerySchema>;

export const ContextListResponseSchema = z.object({
  entries: z.array(ContextEntrySchema),
  next_cursor: CursorSchema.nullable(),
});
export type ContextListResponse = z.infer<typeof ContextListResponseSchema>;
