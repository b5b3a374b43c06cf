import { z } from "zod";
import { LIMITS } from "./limits";

/** Pagination `limit` from a query string. */
export const ListLimitSchema = z.coerce
  .number<string | number>()
  .int()
  .min(1)
  .max(LIMITS.listLimitMax)
  .default(LIMITS.listLimitDefault);

/** Opaque pagination cursor (base64url), minted by the server. */
export const CursorSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, "Expected an opaque cursor")
  .max(LIMITS.cursorChars);
