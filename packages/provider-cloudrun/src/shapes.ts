/**
 * Cloud Run's legal instance sizes as a table for the kit's `fitToShape`: CPU 1, 2, 4, 6 or 8 with
 * the memory each allows (1 vCPU: 512 MiB–4 GiB; 2: 512 MiB–8 GiB; 4: 2–16 GiB; 6: 4–24 GiB;
 * 8: 4–32 GiB), in 512 MiB steps up to 1 GiB and whole GiB above. GPU shapes (one NVIDIA L4) need at
 * least 4 vCPU and 16 GiB.
 */
import type { Shape } from "@virtual-node/core/provider-kit";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** CPU → [min, max] memory in GiB (Cloud Run's documented limits). */
const CPU_MEMORY: readonly (readonly [cpu: number, min: number, max: number])[] = [
  [1, 0.5, 4],
  [2, 0.5, 8],
  [4, 2, 16],
  [6, 4, 24],
  [8, 4, 32],
];

function build(gpu: boolean): Shape[] {
  const shapes: Shape[] = [];
  for (const [cpu, min, max] of CPU_MEMORY) {
    if (gpu && cpu < 4) continue;
    const steps = [0.5, ...Array.from({ length: 32 }, (_, i) => i + 1)];
    for (const gib of steps) {
      if (gib < min || gib > max || (gpu && gib < 16)) continue;
      shapes.push({
        name: `${cpu} vCPU / ${gib} GiB${gpu ? " / 1 nvidia-l4" : ""}`,
        cpu,
        memory: gib * GiB,
        ...(gpu ? { gpu: 1 } : {}),
      });
    }
  }
  return shapes;
}

/** Every CPU/memory combination Cloud Run accepts (without GPU). */
export const CLOUD_RUN_SHAPES: readonly Shape[] = build(false);
/** The combinations Cloud Run accepts with one GPU. */
export const CLOUD_RUN_GPU_SHAPES: readonly Shape[] = build(true);

/** Cloud Run's memory quantity for a shape (`512Mi`, `2Gi`). */
export function memoryLimit(bytes: number): string {
  return bytes % GiB === 0 ? `${bytes / GiB}Gi` : `${Math.round(bytes / MiB)}Mi`;
}
