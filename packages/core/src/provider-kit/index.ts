// filled in by the provider kit work
export {};
export {
  NAME_RULES,
  OWNERSHIP_KEYS,
  cloudName,
  labelSafe,
  ownershipLabels,
  ownershipTags,
  parseOwnership,
} from "./names.js";
export type { CloudNameOptions, NameAlphabet, TagsInput } from "./names.js";
export { createListStatusSource, isSettledStatus } from "./list-status.js";
export type { ListStatusSource, ListStatusSourceOptions, ListStatusStats } from "./list-status.js";
export { followLogsByPolling, formatLogLine, formatRFC3339Nano, parseRFC3339Nano } from "./logs.js";
export type { FollowLogsOptions, LogEntry, LogFetchHints, LogPage, LogPageFetcher } from "./logs.js";
export {
  errorFromHttpStatus,
  fromAwsError,
  fromAzureError,
  fromGoogleError,
  isThrottle,
  parseRetryAfter,
} from "./errors.js";
export type { HttpErrorOptions } from "./errors.js";
export { AdaptiveRateLimiter, createRateLimiters } from "./rate-limit.js";
export type {
  AdaptiveRateLimiterOptions,
  RateLimit,
  RateLimitTable,
  RateLimiterStats,
  RateLimiters,
  RateLimitersOptions,
} from "./rate-limit.js";
export { createCloudCaller } from "./cloud-call.js";
export type { CloudCallOptions, CloudCaller, CloudCallerOptions, CloudErrorMapper } from "./cloud-call.js";
export { pollUntil } from "./poll.js";
export type { PollOptions, PollResult } from "./poll.js";
