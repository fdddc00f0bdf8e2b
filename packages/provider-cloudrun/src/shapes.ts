/**
 * Cloud Run's legal instance sizes as rows for the kit's `fitToShape`: CPU 1, 2, 4, 6 or 8 with the
 * memory each allows (1 vCPU: 512 MiB–4 GiB; 2: 512 MiB–8 GiB; 4: 2–16 GiB; 6: 4–24 GiB;
 * 8: 4–32 GiB), in 512 MiB steps. GPU rows (one NVIDIA L4) need at least 4 vCPU and 16 GiB.
 */
import type { ShapeRow } from "@virtual-node/core/provider-kit";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const STEP = 512 * MiB;

/** Cloud Run's memory quantity for a size (`512Mi`, `2Gi`). */
export function memoryLimit(bytes: number): string {
  return bytes % GiB === 0 ? `${bytes / GiB}Gi` : `${Math.round(bytes / MiB)}Mi`;
}

const name = (cpu: number, memory: number): string => `${cpu} vCPU / ${memoryLimit(memory)}`;

/** CPU → [min, max] memory in bytes (Cloud Run's documented limits). */
const CPU_MEMORY: readonly (readonly [cpu: number, min: number, max: number])[] = [
  [1, STEP, 4 * GiB],
  [2, STEP, 8 * GiB],
  [4, 2 * GiB, 16 * GiB],
  [6, 4 * GiB, 24 * GiB],
  [8, 4 * GiB, 32 * GiB],
];

/** Every CPU/memory combination Cloud Run accepts (without GPU). */
export const CLOUD_RUN_SHAPES: readonly ShapeRow[] = CPU_MEMORY.map(([cpu, min, max]) => ({
  cpu,
  memory: { min, max, step: STEP },
  name,
}));

/** The combinations Cloud Run accepts with one GPU (`nvidia.com/gpu: 1`). */
export const CLOUD_RUN_GPU_SHAPES: readonly ShapeRow[] = CPU_MEMORY.filter(([cpu]) => cpu >= 4).map(
  ([cpu, , max]) => ({
    cpu,
    memory: { min: 16 * GiB, max, step: STEP },
    name: (c: number, m: number) => `${name(c, m)} / 1 nvidia-l4`,
    "nvidia.com/gpu": 1,
  }),
);
