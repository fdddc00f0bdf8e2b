/** `@virtual-node/core/provider-kit`: the shared pieces every cloud provider needs (docs/provider-kit.md). */
export * from "../provider-kit/index.js";
