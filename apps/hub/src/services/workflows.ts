import type { HubContext } from "../context";
import { startAlertConsumer } from "./alerts";
import { seedTemplates } from "./templates";

/** First-run seeding and the background consumers of the workflows feature (called by `createHub`). */
export function startWorkflows(ctx: HubContext): void {
  const seeded = seedTemplates(ctx);
  if (seeded > 0) ctx.logger.info({ templates: seeded }, "seeded the default task templates");
  startAlertConsumer(ctx);
}
