export { createMockProvider, mockCapabilities, mockNodeDescription } from "./provider.js";
export type { MockProvider, MockProviderOptions } from "./provider.js";
export { MockCloud, defaultMockDefaults } from "./mock-cloud.js";
export type { MockCloudOptions } from "./mock-cloud.js";
export type { MockBackoff, MockDefaults, MockLogSettings } from "./group.js";
export { startMockCloudServer } from "./server.js";
export type { MockCloudServer, MockCloudServerOptions } from "./server.js";
export { connectMockCloud } from "./client.js";
export type { MockCloudClient, MockCloudClientOptions } from "./client.js";
export {
  MOCK_ANNOTATION_PREFIX,
  MockAnnotations,
  containerAnnotation,
  parseDuration,
} from "./annotations.js";
export type { MockAnnotationName } from "./annotations.js";
export { MOCK_SHAPES, mockShapeOf, toMockGroupSpec } from "./mapping.js";
export type { ToMockGroupSpecOptions } from "./mapping.js";
export { toContainerStatus, toProviderPodStatus } from "./status.js";
export { MOCK_COMMANDS, runMockCommand } from "./exec.js";
export type { MockCommandContext, MockCommandResult } from "./exec.js";
export type * from "./types.js";
export { createMockKubeletHooks, formatRFC3339Nano } from "./kubelet-hooks.js";
export type { MockKubeletHooks, MockKubeletHooksOptions } from "./kubelet-hooks.js";
