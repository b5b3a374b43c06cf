import type { HubContext } from "../../context";
import { workflowsOf } from "../../services/workflow-config";
import type { PluginsConfig } from "../config";
import type { PluginModule } from "../manager";
import { fileSummaryPlugin } from "./file-summary";
import { memoryEnhancePlugin } from "./memory-enhance";
import { notifyPlugin } from "./notify";
import { webSearchPlugin } from "./web-search";

/** The built-in plugins, each named after its one tool. Registered before the directory's. */
export function builtinPlugins(ctx: HubContext, config: PluginsConfig | undefined): PluginModule[] {
  return [
    webSearchPlugin(config?.webSearch),
    fileSummaryPlugin(config?.fileSummary),
    notifyPlugin(() => workflowsOf(ctx).ntfy),
    memoryEnhancePlugin(ctx),
  ];
}
