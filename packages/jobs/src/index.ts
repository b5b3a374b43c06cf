export type { Credit, CreditBasis, CreditRuleId } from "./credit";
export { CREDIT_CAPS, CREDIT_RULE_IDS, jobCredit, modelCredit, modelTier, unitsFromBasis } from "./credit";
export type {
  JobName,
  JobRequest,
  JobRequestInput,
  JobRequestIssue,
  ReadJobResult,
  SeedJob,
} from "./request";
export {
  isJobName,
  JOB_NAMES,
  JOB_PARAMETERS,
  JobRequestSchema,
  readJobRequest,
  SeedJobSchema,
} from "./request";
export { runJob } from "./run";
export type { Keyword, TextChunk, TextEmbedding, TextStats } from "./text";
export { keywordExtract, textChunk, textEmbed, textStats, tokenBucket, tokenize } from "./text";
