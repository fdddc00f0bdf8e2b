/**
 * Kubernetes quantities for providers. The parser lives in core (`kube/quantity.ts`), where the
 * status and config rules use it too: one quantity parser in the code base.
 */
export { formatQuantity, parseQuantity, type QuantityUnit } from "../kube/quantity.js";
