import { USER_ROLE_PERMISSIONS } from "@m3shd/hub";
import { PERMISSIONS } from "@m3shd/protocol";
import { describe, expect, test } from "vitest";
import { can, ROLE_PERMISSIONS } from "../src/roles";

describe("the dashboard's copy of the role permissions", () => {
  test("matches the hub's USER_ROLE_PERMISSIONS exactly, so the UI hides what the hub refuses", () => {
    for (const role of ["admin", "user", "viewer"] as const) {
      const mine = PERMISSIONS.filter((p) => can(role, p));
      expect(mine, role).toEqual(PERMISSIONS.filter((p) => USER_ROLE_PERMISSIONS[role].includes(p)));
    }
    expect(Object.keys(ROLE_PERMISSIONS).sort()).toEqual(Object.keys(USER_ROLE_PERMISSIONS).sort());
  });
});
