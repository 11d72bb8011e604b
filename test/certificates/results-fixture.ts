/**
 * Small constructed station results for the certificate mapping, issuer and REST tests: a lot of
 * four imprinted cells graded by the real gradeLot under the repository's factory_init rules, and
 * one second-life grade routed by the real routeCell under second_life rules. Figures are
 * invented for the tests (simulated: true), chosen so the expected bins and routes are known.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { gradingRulesSchema, type GradingRules } from "../../server/domain/grading/grading-rules.schema.ts";
import { gradeLot, type LotGrade } from "../../server/domain/grading/lot-grading.ts";
import type { Imprint } from "../../server/domain/imprint/imprint.ts";
import type { SecondLifeGrade } from "../../server/domain/second-life/grade.ts";
import { routeCell } from "../../server/domain/second-life/route.ts";
import { routingRulesSchema, type RoutingRules } from "../../server/domain/second-life/routing-rules.schema.ts";
import type { Lot, Run } from "../../server/station/run.types.ts";

export const gradingRules: GradingRules = gradingRulesSchema.parse(parse(readFileSync("station-config/grading/factory_init.yaml", "utf8")));
export const routingRules: RoutingRules = routingRulesSchema.parse(parse(readFileSync("station-config/grading/second_life.yaml", "utf8")));

const m = (value: number, uncertainty: number) => ({ value, uncertainty });

export function lotOf(kind: Lot["kind"], id = kind === "imprint" ? "20260314-a1b2c3d4" : "20260402-e5f6a7b8"): Lot {
  return {
    id,
    name: `${kind} test lot`,
    kind,
    recipe: kind === "imprint" ? { name: "factory_init", version: "1.0.0" } : { name: "second_life_fast", version: "1.0.0" },
    operator: "op-0042",
    state: "complete",
    phaseIndex: 3,
    phaseState: "running",
    chemistry: "nmc811-graphite",
    nominalCapacityAh: 5,
    simulated: true,
    createdAt: "2026-03-14T07:00:00.000Z",
    finishedAt: "2026-03-15T09:00:00.000Z",
  };
}

export function runOf(lot: Lot, serial: string, slot: number, state: Run["state"] = "complete"): Run {
  return {
    id: `${lot.id}-s${String(slot).padStart(3, "0")}`,
    lotId: lot.id,
    serial,
    slot,
    cyclerId: "sim-cycler-1",
    channel: slot,
    state,
    phaseIndex: 3,
    startedAt: "2026-03-14T07:00:00.000Z",
    finishedAt: "2026-03-15T08:59:00.000Z",
    equipmentTimeS: 90000,
  };
}

/** dQ/dV with one Gaussian peak at 3.62 V, 1 mV grid. */
function ica(peakV: number): { voltageV: number[]; dqdvAhPerV: number[] } {
  const voltageV = Array.from({ length: 1200 }, (_, i) => Number((3.0 + i * 0.001).toFixed(3)));
  return { voltageV, dqdvAhPerV: voltageV.map((v) => Number((2 + 18 * Math.exp(-(((v - peakV) / 0.02) ** 2))).toFixed(4))) };
}

export function imprintOf(serial: string, capacityAh: number, dcirMilliohm: number, kValueMvPerDay = 0.3): Imprint {
  const curve = ica(3.62);
  return {
    recipeName: "factory_init",
    recipeVersion: "1.0.0",
    simulated: true,
    serial,
    nominalCapacityAh: 5,
    capacityAh: m(capacityAh, 0.0061),
    energyWh: m(capacityAh * 3.63, 0.02),
    coulombicEfficiency: m(0.9987, 0.0002),
    cycles: [
      { cycle: 1, chargeAh: capacityAh + 0.01, dischargeAh: capacityAh, dischargeWh: capacityAh * 3.63, coulombicEfficiency: 0.998, meanDischargeVoltageV: 3.63 },
      { cycle: 2, chargeAh: capacityAh + 0.005, dischargeAh: capacityAh, dischargeWh: capacityAh * 3.63, coulombicEfficiency: 0.999, meanDischargeVoltageV: 3.63 },
    ],
    formation: null,
    dcirMilliohm: m(dcirMilliohm, 0.12),
    r10sMilliohm: m(dcirMilliohm + 8, 0.15),
    ocvV: m(3.6712, 0.0002),
    ocvEndDvdtMvPerH: m(0.4, 0.05),
    ocvRelaxed: true,
    kValueMvPerDay: m(kValueMvPerDay, 0.04),
    holdCurrentMicroA: m(12.3, 1.1),
    ica: curve,
    icaPeaks: [{ voltageV: 3.62, heightAhPerV: 20, prominenceAhPerV: 18, areaAh: 0.64 }],
    dva: null,
    entropyProfile: [20, 50, 80].map((soc) => ({
      label: `soc${soc}`,
      soc: soc / 100,
      dudtMvPerK: soc === 20 ? 0.11 : soc === 50 ? -0.03 : -0.08,
      dudtUncertaintyMvPerK: 0.004,
      entropyJPerMolK: 0,
      entropyUncertaintyJPerMolK: 0,
      method: "fast-relaxation-fit" as const,
    })),
    dischargeCurve: { chargeAh: [0, 1, 2, 3, 4, 4.9], voltageV: [4.1, 3.95, 3.8, 3.65, 3.45, 2.9] },
  };
}

/** Four cells: three close together, one far below the capacity specification (4.85 Ah) → reject. */
export function imprintLot(): { lot: Lot; runs: Run[]; imprints: Imprint[]; grade: LotGrade } {
  const lot = lotOf("imprint");
  const imprints = [imprintOf("CELL-0001", 4.9873, 21.4), imprintOf("CELL-0002", 4.9902, 21.6), imprintOf("CELL-0003", 4.9851, 21.5), imprintOf("CELL-0004", 4.7012, 21.5)];
  const runs = imprints.map((imp, i) => runOf(lot, imp.serial, i + 1));
  return { lot, runs, imprints, grade: gradeLot(imprints, gradingRules) };
}

/** A second-life cell at 82 % SOH with +30 % resistance: stationary storage by the repository rules. */
export function secondLifeGradeOf(serial: string): SecondLifeGrade {
  const sohCapacity = m(0.8204, 0.004);
  const resistanceGrowth = m(0.3, 0.02);
  const modes = { lli: m(0.12, 0.01), lamNe: m(0.04, 0.01), lamPe: m(0.03, 0.01) };
  const route = routeCell(
    { sohCapacity, resistanceGrowth, selfDischargeMicroA: m(15, 2), modes: { ...modes, negStoichiometryAtFull: 0.85 }, maxDudtUncertaintyMvPerK: 0.006 },
    routingRules,
  );
  const curve = ica(3.6);
  return {
    serial,
    chemistry: "nmc811-graphite",
    simulated: true,
    capacity: { dischargeAh: m(4.0811, 0.008), lowRateAh: m(4.1203, 0.008), equilibriumAh: m(4.1017, 0.01) },
    dcirMilliohm: m(27.82, 0.3),
    ica: { curve, peaks: [{ voltageV: 3.6, heightAhPerV: 20, prominenceAhPerV: 18, areaAh: 0.6 }] },
    selfDischargeMicroA: m(15, 2),
    entropy: {
      method: "fast-relaxation-fit",
      equipmentTimeS: 20000,
      points: [80, 50, 20].map((soc) => ({
        soc: soc / 100,
        dischargedAh: (1 - soc / 100) * 4.1,
        method: "fast-relaxation-fit" as const,
        dudtMvPerK: soc === 20 ? 0.09 : soc === 50 ? -0.02 : -0.07,
        dudtUncertaintyMvPerK: 0.006,
        entropyJPerMolK: 0,
        entropyUncertaintyJPerMolK: 0,
        relaxedOcvV: 3.6,
        referenceTemperatureC: 25,
        residualRmsMv: 0.05,
        temperatureSwingK: 10,
        durationS: 3600,
      })),
    },
    modes: {
      ...modes,
      startOffsetAh: m(0.01, 0.002),
      overpotentialV: m(0.012, 0.001),
      capacityAh: m(4.1017, 0.008),
      balance: { capacityAh: 4.1017, negCapacityAh: 5.1, posCapacityAh: 5.0, x0: 0.05, x100: 0.85, y0: 0.9, y100: 0.3 },
      ocvResidualRmsMv: 1.1,
      dudtResidualRmsMvPerK: 0.004,
      ocvCurve: [0.5, 1.5, 2.5, 3.5].map((q, i) => ({ dischargedAh: q, measuredV: 4.0 - i * 0.2, fittedV: 4.0 - i * 0.2 + 0.001 })),
      dudtCurve: [],
    },
    soh: { capacity: sohCapacity, resistance: { resistanceGrowth, sohResistance: m(0.7, 0.02) }, reference: "imprint" },
    comparison: { capacityFade: m(0.1817, 0.002), dcirIncrease: m(0.3, 0.02) },
    route,
  };
}
