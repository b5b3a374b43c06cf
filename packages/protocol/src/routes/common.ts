import { z } from "zod";

/** Raw body ceiling of the small admin and workflow bodies (a few short fields). */
export const SMALL_BODY_BYTES = 16 * 1024;

/** `{ deleted: true }`: the answer of a delete that has nothing else to say. */
export const DeletedResponseSchema = z.object({ deleted: z.literal(true) });
export type DeletedResponse = z.infer<typeof DeletedResponseSchema>;
