/**
 * Canonical form of a Messages handle, so "+1 (555) 555-0123", "+15555550123" and
 * "tel:+15555550123" match one configured entry and "Me@Example.com" matches "me@example.com".
 * Phone numbers keep a leading "+" and digits only; emails are trimmed and lower-cased.
 */
export function normalizeHandle(raw: string): string {
  let h = raw.trim();
  h = h.replace(/^(tel:|mailto:|sms:|imessage:)/i, "");
  if (h.includes("@")) return h.toLowerCase();
  const plus = h.startsWith("+");
  const digits = h.replace(/\D/g, "");
  return plus ? `+${digits}` : digits;
}

/** The configured senders the bridge answers to; everyone else is ignored and counted. */
export class HandleFilter {
  private readonly allowed: Set<string>;

  constructor(handles: readonly string[]) {
    this.allowed = new Set(handles.map(normalizeHandle).filter((h) => h.length > 1));
    if (this.allowed.size === 0) throw new Error("at least one handle must be configured");
  }

  allows(handle: string | null): boolean {
    return handle !== null && this.allowed.has(normalizeHandle(handle));
  }
}
