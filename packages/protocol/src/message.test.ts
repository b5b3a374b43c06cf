import { describe, expect, it } from "vitest";
import { makeMessage } from "../test/fixtures";
import { newId } from "./ids";
import { CreateMessageBodySchema, ListMessagesQuerySchema, MessageSchema } from "./message";

describe("messages", () => {
  it("limits content to 50 KB of UTF-8", () => {
    expect(CreateMessageBodySchema.safeParse({ content: "a".repeat(51_200) }).success).toBe(true);
    expect(CreateMessageBodySchema.safeParse({ content: "a".repeat(51_201) }).success).toBe(false);
    // 12,800 emoji = 25,600 UTF-16 units but 51,200 bytes; one more byte is too many
    expect(CreateMessageBodySchema.safeParse({ content: "👋".repeat(12_800) }).success).toBe(true);
    expect(CreateMessageBodySchema.safeParse({ content: `${"👋".repeat(12_800)}a` }).success).toBe(false);
  });

  it("defaults the channel and never takes the sender from the body", () => {
    expect(CreateMessageBodySchema.parse({ content: "hi" })).toEqual({ content: "hi", channel: "general" });
    expect(CreateMessageBodySchema.safeParse({ content: "hi", from: "admin" }).success).toBe(false);
    const replyTo = newId("msg");
    expect(
      CreateMessageBodySchema.parse({ content: "hi", channel: "imessage:+15551234567", reply_to: replyTo }),
    ).toEqual({ content: "hi", channel: "imessage:+15551234567", reply_to: replyTo });
    expect(CreateMessageBodySchema.safeParse({ content: "hi", reply_to: newId("task") }).success).toBe(false);
    expect(CreateMessageBodySchema.safeParse({ content: "hi", channel: "Bad Channel" }).success).toBe(false);
  });

  it("parses a stored message and list queries", () => {
    const message = makeMessage();
    expect(MessageSchema.parse(message)).toEqual(message);
    expect(ListMessagesQuerySchema.parse({ channel: "ops", limit: "10" })).toEqual({
      channel: "ops",
      limit: 10,
    });
  });
});
