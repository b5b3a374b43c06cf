import type { RouteDef } from "../route";
import { AUTH_ME_ROUTES } from "./auth-me";
import { TASK_ROUTES } from "./tasks";

export * from "./auth-me";
export * from "./tasks";

/**
 * Every route the hub serves. The hub registers exactly these (a test compares them with the
 * app's routes), the OpenAPI document lists exactly these, and `@m3shd/client` is typed by them.
 */
export const HUB_ROUTES = [...TASK_ROUTES, ...AUTH_ME_ROUTES] as const satisfies readonly RouteDef[];
