// The token `pnpm start` gives its local jobs worker: an agent token for that one agent, with the
// worker role and bound to the built-in jobs' capabilities — never the master token, which would
// let a compromised local worker do anything an operator can. Minted at every start with the
// master token (which stays in the start script's process); the previous start's token for the
// same agent is revoked first, so restarts do not pile up live credentials.

/** Capabilities of the `jobs` provider (kept equal to JOB_NAMES in @m3shd/providers by a test). */
export const LOCAL_JOB_CAPABILITIES = ["echo", "text_stats", "keyword_extract", "text_chunk", "text_embed"];

/**
 * Mints the local worker's token on `hub` (e.g. `http://127.0.0.1:7700`) and revokes the ones an
 * earlier start minted for `agentId`. Resolves to the plaintext token.
 */
export async function mintLocalWorkerToken(hub, masterToken, agentId, capabilities = LOCAL_JOB_CAPABILITIES) {
  const headers = { authorization: `Bearer ${masterToken}`, "content-type": "application/json" };
  const listed = await fetch(`${hub}/api/tokens?agent_id=${encodeURIComponent(agentId)}`, { headers });
  if (!listed.ok) throw new Error(`listing agent tokens failed: ${listed.status}`);
  const { agent_tokens: previous } = await listed.json();
  for (const t of previous) {
    // Only what a start minted (by the master token, worker-scoped); an operator's own tokens stay.
    if (t.created_by !== "master" || t.capabilities === null) continue;
    const revoked = await fetch(`${hub}/api/tokens/${t.id}`, { method: "DELETE", headers });
    await revoked.body?.cancel();
  }
  const res = await fetch(`${hub}/api/tokens`, {
    method: "POST",
    headers,
    body: JSON.stringify({ agent_id: agentId, role: "worker", capabilities }),
  });
  if (res.status !== 201)
    throw new Error(`minting the local worker's token failed: ${res.status} ${await res.text()}`);
  const { token } = await res.json();
  return token;
}
