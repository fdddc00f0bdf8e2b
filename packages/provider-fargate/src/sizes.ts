/**
 * The Fargate task sizes: every legal task-level `cpu`/`memory` pair, from the AWS Fargate task
 * size table (0.25 to 16 vCPU, 512 MiB to 120 GiB). 8 and 16 vCPU need Linux platform 1.4.0 or
 * later; Windows tasks need at least 1 vCPU.
 */
import type { Shape } from "@virtual-node/core/provider-kit";

/** One row of the table: CPU units (1024 = 1 vCPU) and the memory sizes it allows, in MiB. */
export interface FargateCpuRow {
  cpu: number;
  memoryMiB: readonly number[];
  /** Operating systems the row is offered for. */
  os: readonly ("Linux" | "Windows")[];
}

const GiB = 1024;

function steps(fromGiB: number, toGiB: number, stepGiB: number): number[] {
  const out: number[] = [];
  for (let g = fromGiB; g <= toGiB; g += stepGiB) out.push(g * GiB);
  return out;
}

/** The table as AWS documents it. */
export const FARGATE_CPU_MEMORY: readonly FargateCpuRow[] = [
  { cpu: 256, memoryMiB: [512, 1024, 2048], os: ["Linux"] },
  { cpu: 512, memoryMiB: steps(1, 4, 1), os: ["Linux"] },
  { cpu: 1024, memoryMiB: steps(2, 8, 1), os: ["Linux", "Windows"] },
  { cpu: 2048, memoryMiB: steps(4, 16, 1), os: ["Linux", "Windows"] },
  { cpu: 4096, memoryMiB: steps(8, 30, 1), os: ["Linux", "Windows"] },
  { cpu: 8192, memoryMiB: steps(16, 60, 4), os: ["Linux"] },
  { cpu: 16384, memoryMiB: steps(32, 120, 8), os: ["Linux"] },
];

/** A Fargate size as a kit {@link Shape}: `cpu` in cores, `memory` in bytes, plus the ECS values. */
export interface FargateShape extends Shape {
  /** Task `cpu` in CPU units, as sent to ECS. */
  cpuUnits: number;
  /** Task `memory` in MiB, as sent to ECS. */
  memoryMiB: number;
}

/** Every Fargate size as a shape named `<cpu>/<memory>` (e.g. `1024/2048`), smallest first. */
export const FARGATE_SHAPES: readonly FargateShape[] = FARGATE_CPU_MEMORY.flatMap((row) =>
  row.memoryMiB.map((memoryMiB) => ({
    name: `${row.cpu}/${memoryMiB}`,
    cpu: row.cpu / 1024,
    memory: memoryMiB * 1024 * 1024,
    cpuUnits: row.cpu,
    memoryMiB,
  })),
);
