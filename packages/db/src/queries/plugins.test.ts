import { describe, expect } from "vitest";
import { dbTest, T0 } from "../test-fixture";
import { isPluginEnabled, listPluginStates, setPluginEnabled } from "./plugins";

describe("plugin states", () => {
  dbTest(
    "a plugin without a row is enabled; a change is written once, a repeat is not",
    ({ database: { db } }) => {
      expect(isPluginEnabled(db, "web_search")).toBe(true);
      expect(setPluginEnabled(db, { name: "web_search", enabled: true, updatedBy: "master", now: T0 })).toBe(
        false,
      );
      expect(listPluginStates(db).size).toBe(0);
      expect(setPluginEnabled(db, { name: "web_search", enabled: false, updatedBy: "master", now: T0 })).toBe(
        true,
      );
      expect(
        setPluginEnabled(db, { name: "web_search", enabled: false, updatedBy: "user:x", now: T0 + 1 }),
      ).toBe(false);
      expect(isPluginEnabled(db, "web_search")).toBe(false);
      expect(
        setPluginEnabled(db, { name: "web_search", enabled: true, updatedBy: "user:x", now: T0 + 2 }),
      ).toBe(true);
      expect([...listPluginStates(db)]).toEqual([["web_search", true]]);
    },
  );
});
