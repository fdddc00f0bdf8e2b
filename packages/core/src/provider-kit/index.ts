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
export { formatQuantity, parseQuantity } from "./quantity.js";
export type { QuantityUnit } from "./quantity.js";
export { fitToShape, podResources } from "./shapes.js";
export type {
  FitOptions,
  FitResult,
  PodResources,
  ResourceAmounts,
  Shape,
  ShapeRow,
  ShapeValues,
} from "./shapes.js";
export { secretRedactor, secretUses, splitEnv } from "./secrets.js";
export type { SecretRedactorOptions, SecretUse } from "./secrets.js";
export { BILLED_RESOURCES_ANNOTATION, billedAnnotationValue, billedFromShape } from "./billing.js";
