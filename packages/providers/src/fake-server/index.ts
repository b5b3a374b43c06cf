export type {
  FakeApi,
  FakeRequestInfo,
  FakeScript,
  FakeUsage,
  RecordedRequest,
  ScriptMatch,
} from "./scripts";
export type { FakeProviderServer, FakeProviderServerOptions } from "./server";
export { splitWords, startFakeProviderServer } from "./server";
