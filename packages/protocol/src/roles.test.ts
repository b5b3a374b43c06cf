import { describe, expect, it } from "vitest";
import { PERMISSIONS } from "./enums";
import { permissionsForRole, ROLE_PRESET_NAMES, ROLE_PRESETS } from "./roles";

describe("ROLE_PRESETS", () => {
  it("gives workers task, agent-read, chat, memory and voice permissions", () => {
    expect([...ROLE_PRESETS.worker].sort()).toEqual(
      [
        "tasks:read",
        "tasks:write",
        "tasks:stream",
        "agents:read",
        "messages:read",
        "messages:write",
        "memory:read",
        "memory:write",
        "voice:dispatch",
      ].sort(),
    );
  });

  it("derives mobile and commander from worker", () => {
    expect([...ROLE_PRESETS.mobile].sort()).toEqual(
      ROLE_PRESETS.worker.filter((p) => p !== "voice:dispatch").sort(),
    );
    expect([...ROLE_PRESETS.commander].sort()).toEqual(
      [...ROLE_PRESETS.worker, "agents:write", "admin:analytics"].sort(),
    );
  });

  it("gives admin all 17 permissions", () => {
    expect(ROLE_PRESETS.admin).toHaveLength(17);
    expect([...permissionsForRole("admin")]).toEqual([...PERMISSIONS]);
  });

  it("uses only known permissions, without duplicates", () => {
    for (const role of ROLE_PRESET_NAMES) {
      const list = ROLE_PRESETS[role];
      expect(new Set(list).size).toBe(list.length);
      for (const permission of list) expect(PERMISSIONS).toContain(permission);
    }
  });
});
