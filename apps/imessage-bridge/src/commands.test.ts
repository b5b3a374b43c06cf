import { describe, expect, it } from "vitest";
import { COMMAND_PATTERNS, type Command, parseCommand, parseTokens } from "./commands";

// Every row of the table, with texts that must match it and near-misses that must not.
const CASES: { kind: Command["kind"]; yes: [string, Command][]; no: string[] }[] = [
  {
    kind: "status",
    yes: [
      ["status", { kind: "status" }],
      ["  Status? ", { kind: "status" }],
    ],
    no: ["status of the build"],
  },
  {
    kind: "tasks",
    yes: [
      ["tasks", { kind: "tasks" }],
      ["TASKS!", { kind: "tasks" }],
    ],
    no: ["tasks for today please"],
  },
  { kind: "context_get", yes: [["@context", { kind: "context_get" }]], no: ["@contexts"] },
  {
    kind: "context_set",
    yes: [
      ["@context repo=m3shd", { kind: "context_set", key: "repo", value: "m3shd" }],
      [
        "@context deploy.target = prod eu=1",
        { kind: "context_set", key: "deploy.target", value: "prod eu=1" },
      ],
    ],
    no: ["@context =x", "@context key="],
  },
  {
    kind: "agent",
    yes: [
      ["@claude review PR 12", { kind: "agent", agent: "claude", text: "review PR 12" }],
      ["@GPU-box run\nthe tests", { kind: "agent", agent: "gpu-box", text: "run\nthe tests" }],
    ],
    no: ["@claude", "@ claude hi", "email me@x.com"],
  },
  {
    kind: "approve",
    yes: [
      ["approve", { kind: "approve", id: null }],
      ["Approve apr_01HX9", { kind: "approve", id: "apr_01HX9" }],
    ],
    no: ["approve of this plan?"],
  },
  {
    kind: "reject",
    yes: [
      ["reject", { kind: "reject", id: null, reason: null }],
      ["reject apr_01HX9", { kind: "reject", id: "apr_01HX9", reason: null }],
      ["reject apr_01HX9: too risky", { kind: "reject", id: "apr_01HX9", reason: "too risky" }],
      ["reject not now", { kind: "reject", id: null, reason: "not now" }],
    ],
    no: ["rejected"],
  },
  { kind: "pending", yes: [["pending", { kind: "pending" }]], no: ["pending approvals for bob"] },
  { kind: "costs", yes: [["costs", { kind: "costs" }]], no: ["costs too much"] },
  { kind: "escalations", yes: [["escalations", { kind: "escalations" }]], no: ["escalations?? why"] },
  {
    kind: "do",
    yes: [["do write the release notes", { kind: "do", text: "write the release notes" }]],
    no: ["do", "done", "doing it"],
  },
  {
    kind: "auto",
    yes: [["auto ship v2 docs", { kind: "auto", goal: "ship v2 docs" }]],
    no: ["auto", "automatic"],
  },
  { kind: "summary", yes: [["summary", { kind: "summary" }]], no: ["summary of x"] },
  { kind: "budget", yes: [["budget", { kind: "budget" }]], no: ["budgets"] },
  {
    kind: "budget_set",
    yes: [
      ["budget claude 50000", { kind: "budget_set", agent: "claude", tokens: 50000 }],
      ["budget gpu-box 1.5m", { kind: "budget_set", agent: "gpu-box", tokens: 1_500_000 }],
    ],
    no: ["budget claude lots", "budget claude 0", "budget claude -5"],
  },
];

describe("parseCommand", () => {
  it("the cases cover every row of the table", () => {
    expect(new Set(CASES.map((c) => c.kind))).toEqual(new Set(COMMAND_PATTERNS.map((p) => p.kind)));
  });
  for (const c of CASES) {
    describe(c.kind, () => {
      for (const [text, want] of c.yes)
        it(`matches ${JSON.stringify(text)}`, () => expect(parseCommand(text)).toEqual(want));
      for (const text of c.no)
        it(`does not take ${JSON.stringify(text)}`, () => expect(parseCommand(text).kind).not.toBe(c.kind));
    });
  }
  it("anything else is chat, never an error", () => {
    for (const t of ["ok", "hello there", "", "   ", "👍", "status\u0000", '"; do shell script "rm -rf ~"']) {
      const cmd = parseCommand(t);
      if (t === '"; do shell script "rm -rf ~"') expect(cmd.kind).toBe("chat");
      expect(["chat", "status"]).toContain(cmd.kind);
    }
    expect(parseCommand("ok")).toEqual({ kind: "chat", text: "ok" });
  });
  it("parses token counts strictly", () => {
    expect(parseTokens("10,000")).toBe(10000);
    expect(parseTokens("2k")).toBe(2000);
    expect(parseTokens("1e9")).toBeNull();
    expect(parseTokens("0")).toBeNull();
  });
});
