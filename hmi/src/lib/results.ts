/**
 * Reading stored analysis results in the HMI: the station stores one result per cell, tagged by kind
 * (`{ kind: "imprint", ...Imprint }` or `{ kind: "second-life", ...SecondLifeGrade }`, server/station/lot-analysis.ts),
 * and a lot-level result (`{ kind: "imprint", ...LotGrade }` or `{ kind: "second-life", routes }`).
 */
import type { LotGrade } from "../../../server/domain/grading/lot-grading.ts";
import type { Imprint } from "../../../server/domain/imprint/imprint.ts";
import type { Measured } from "../../../server/domain/imprint/measured.ts";
import type { SecondLifeGrade } from "../../../server/domain/second-life/grade.ts";

export type CellResult = ({ kind: "imprint" } & Imprint) | ({ kind: "second-life" } & SecondLifeGrade);

/** The figures both kinds can show side by side, each with its standard uncertainty, in the unit its name states. */
export interface Figures {
  capacityAh?: Measured;
  dcirMilliohm?: Measured;
  kValueMvPerDay?: Measured;
  ocvV?: Measured;
  selfDischargeMicroA?: Measured;
  /** capacity state of health, 0..1 */
  sohCapacity?: Measured;
}

const present = (m: Measured | null | undefined): Measured | undefined => (m && Number.isFinite(m.value) ? m : undefined);

export function figures(r: CellResult): Figures {
  if (r.kind === "imprint") {
    return { capacityAh: present(r.capacityAh), dcirMilliohm: present(r.dcirMilliohm), kValueMvPerDay: present(r.kValueMvPerDay), ocvV: present(r.ocvV), selfDischargeMicroA: present(r.holdCurrentMicroA) };
  }
  return {
    capacityAh: present(r.capacity.dischargeAh ?? r.capacity.lowRateAh),
    dcirMilliohm: present(r.dcirMilliohm),
    selfDischargeMicroA: present(r.selfDischargeMicroA),
    sohCapacity: present(r.soh.capacity),
  };
}

/** a figure's values across a lot's cells, skipping cells that lack it */
export function column(results: Record<string, CellResult>, key: keyof Figures): number[] {
  return Object.values(results)
    .map((r) => figures(r)[key]?.value)
    .filter((v): v is number => v !== undefined);
}

/** bins (imprint lots, from the lot grade) or routes (second-life cells), counted */
export function outcomeCounts(results: Record<string, CellResult>, lotResult: unknown): Record<string, number> {
  const counts: Record<string, number> = {};
  const grade = lotResult as LotGrade | undefined;
  if (grade?.perCell) for (const c of grade.perCell) counts[`bin ${c.bin}`] = (counts[`bin ${c.bin}`] ?? 0) + 1;
  for (const r of Object.values(results)) if (r.kind === "second-life") counts[r.route.label] = (counts[r.route.label] ?? 0) + 1;
  return counts;
}

/** one cell's bin and the reasons for it, from the lot grade */
export function gradeOf(lotResult: unknown, serial: string): LotGrade["perCell"][number] | undefined {
  return (lotResult as LotGrade | undefined)?.perCell?.find((c) => c.serial === serial);
}

export function binOf(lotResult: unknown, serial: string): string | undefined {
  return gradeOf(lotResult, serial)?.bin;
}

export function routeOf(r: CellResult): string {
  return r.kind === "second-life" ? r.route.label : "—";
}
