/** Capabilities of the `jobs` provider (kept equal to JOB_NAMES in @m3shd/providers by a test). */
export declare const LOCAL_JOB_CAPABILITIES: readonly string[];
/** Mints `pnpm start`'s local worker token and revokes the ones earlier starts minted for `agentId`. */
export declare function mintLocalWorkerToken(
  hub: string,
  masterToken: string,
  agentId: string,
  capabilities?: readonly string[],
): Promise<string>;
