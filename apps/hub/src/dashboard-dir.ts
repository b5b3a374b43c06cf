import { fileURLToPath } from "node:url";

/**
 * Where the dashboard's build lives in this repository: `apps/dashboard/dist`, found from this
 * module's own location (`apps/hub/src` in dev and tests, `apps/hub/dist` when built — both two
 * levels below `apps/`). A deployment that moves it sets `M3SHD_DASHBOARD_DIR`.
 */
export function defaultDashboardDir(): string {
  return fileURLToPath(new URL("../../dashboard/dist", import.meta.url));
}
