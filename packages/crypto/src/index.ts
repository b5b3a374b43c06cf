export type { MintedToken, TokenKind } from "./api-token";
export { hashToken, mintToken, tokenKind } from "./api-token";
export type { BytesLike } from "./encoding";
export type {
  FernetDecryptOptions,
  FernetDecryptResult,
  FernetEncryptOptions,
  InvalidTokenReason,
} from "./fernet";
export { Fernet, InvalidTokenError, MultiFernet } from "./fernet";
export { constantTimeEqual, hmacSha256, sha256Hex, sign, verify } from "./hmac";
export { emptyRoot, hashChildren, hashLeaf, MERKLE_HASH_SIZE } from "./merkle-hasher";
export { MerkleLog } from "./merkle-log";
export type { ConsistencyProofInput, InclusionProofInput, MerkleVerifyResult } from "./merkle-proof";
export {
  consistencyProof,
  inclusionProof,
  merkleRoot,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from "./merkle-proof";
export type { NodeIdentity, SignatureCheck } from "./node-identity";
export {
  canonicalJson,
  generateNodeIdentity,
  isEd25519PublicKey,
  nodeKeyId,
  readIdentityFile,
  signCanonical,
  verifyCanonical,
  writeIdentityFile,
} from "./node-identity";
export type { PasswordHashOptions } from "./password";
export { DEFAULT_PASSWORD_ITERATIONS, hashPassword, needsRehash, verifyPassword } from "./password";
export type {
  ChainFailureReason,
  ChainVerifyResult,
  ProvenanceFields,
  ProvenanceInput,
  ProvenanceLink,
} from "./provenance";
export {
  computeProvenanceHash,
  createProvenanceLink,
  encodeProvenanceFields,
  GENESIS_HASH,
  hashOutput,
  verifyChain,
} from "./provenance";
