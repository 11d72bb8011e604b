/**
 * Reading stored analysis results in the HMI: the station stores one result per cell, tagged by kind
 * (imprint or second-life grade, as the domain produced it), and a lot-level grade for imprint lots.
 */
import type { LotGrade } from "../../../server/domain/grading/lot-grading.ts";
import type { Imprint } from "../../../server/domain/imprint/imprint.ts";
import type { SecondLifeGrade } from "../../../server/domain/second-life/grade.ts";

export type CellResult = ({ kind: "imprint" } & Imprint) | ({ kind: "second-life" } & SecondLifeGrade);

export interface Figures {
  capacityAh?: number;
  dcirMilliohm?: number;
  kValueMvPerDay?: number;
  selfDischargeMicroA?: number;
  sohCapacity?: number;
}

export function figures(r: CellResult): Figures {
  if (r.kind === "imprint") {
    return { capacityAh: r.capacityAh?.value, dcirMilliohm: r.dcirMilliohm?.value, kValueMvPerDay: r.kValueMvPerDay?.value, selfDischargeMicroA: r.holdCurrentMicroA?.value };
  }
  return { capacityAh: (r.capacity.dischargeAh ?? r.capacity.lowRateAh).value, dcirMilliohm: r.dcirMilliohm.value, selfDischargeMicroA: r.selfDischargeMicroA?.value, sohCapacity: r.soh.capacity.value };
}

/** a figure across a lot's cells, skipping cells that lack it */
export function column(results: Record<string, unknown>, key: keyof Figures): number[] {
  return Object.values(results)
    .map((r) => figures(r as CellResult)[key])
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
}

/** bins (imprint lots, from the lot grade) or routes (second-life cells), counted */
export function outcomeCounts(results: Record<string, unknown>, lotResult: unknown): Record<string, number> {
  const counts: Record<string, number> = {};
  const grade = lotResult as LotGrade | undefined;
  if (grade?.perCell) for (const c of grade.perCell) counts[`bin ${c.bin}`] = (counts[`bin ${c.bin}`] ?? 0) + 1;
  for (const r of Object.values(results) as CellResult[]) if (r.kind === "second-life") counts[r.route.label] = (counts[r.route.label] ?? 0) + 1;
  return counts;
}

/** the bin of one cell from the lot grade */
export function binOf(lotResult: unknown, serial: string): string | undefined {
  return (lotResult as LotGrade | undefined)?.perCell?.find((c) => c.serial === serial)?.bin;
}
