import type { RouteDef } from "../route";
import { DEMO_ROUTES } from "./demo";
import { TASK_ROUTES } from "./tasks";

export * from "./demo";
export * from "./tasks";

/**
 * Every route the hub serves. The hub registers exactly these (a test compares them with the
 * app's routes), the OpenAPI document lists exactly these, and `@m3shd/client` is typed by them.
 */
export const HUB_ROUTES = [...TASK_ROUTES, ...DEMO_ROUTES] as const satisfies readonly RouteDef[];
