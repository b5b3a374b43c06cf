export type { AnthropicAdapterOptions } from "./anthropic";
export { anthropicAttempt } from "./anthropic";
export type { CliAdapterOptions } from "./cli";
export { cliAttempt } from "./cli";
export type { ProviderConfig, ProviderConfigInput, ProviderDeps } from "./config";
export {
  AnthropicConfigSchema,
  CliConfigSchema,
  createProvider,
  DEFAULT_BASE_URLS,
  GrokConfigSchema,
  JobsConfigSchema,
  OpenAICompatibleConfigSchema,
  OpenAIConfigSchema,
  PLACEHOLDER_API_KEY,
  ProviderConfigSchema,
} from "./config";
export type { ProviderErrorCode, ProviderErrorOptions } from "./errors";
export {
  isProviderError,
  PROVIDER_ERROR_CODES,
  ProviderError,
  parseRetryAfter,
  toProviderError,
} from "./errors";
export type { CorruptOutput, JobName, JobRequest, JobRequestInput } from "./jobs";
export {
  JOB_NAMES,
  JobRequestSchema,
  jobsAttempt,
  keywordExtract,
  parseJobRequest,
  runJob,
  textChunk,
  textEmbed,
  textStats,
  tokenize,
} from "./jobs";
export type { OpenAIAdapterOptions, OpenAIApi } from "./openai";
export { openaiAttempt } from "./openai";
export type { ModelPrice, PriceTable } from "./pricing";
export {
  DEFAULT_PRICES,
  estimateCostUsd,
  findModelPrice,
  ModelPriceSchema,
  PriceTableSchema,
} from "./pricing";
export type { RetryDeps, RetryPolicy, TimeoutPolicy } from "./retry";
export { backoffDelay, DEFAULT_RETRY_POLICY, runWithRetry, sleep } from "./retry";
export type {
  Attempt,
  AttemptContext,
  AttemptResult,
  Provider,
  ProviderKind,
  RunInput,
  RunResult,
  TokenUsage,
} from "./types";
export { PROVIDER_KINDS } from "./types";
