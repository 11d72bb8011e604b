/**
 * The one-click evaluation (DESIGN §11, seed run_all_dashboard): convert → analyse → project → figures.
 * Reads every .csv/.json log of a folder, groups them by vehicle id, and returns everything the report
 * writers need. The figures list is the single source of every number shown in terminal, CSV, HTML and PDF.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { BmsLog, ImportError, ImportIssue } from "../domain/evaluation/bms-log.ts";
import { DEFAULT_ANALYSIS, evaluateVehicle, rangePerChargeKm, type LogEvaluation } from "../domain/evaluation/analysis.ts";
import { deriveEnvelope, type EnvelopeRules, type OperatingEnvelope } from "../domain/envelope/envelope.ts";
import {
  compareEnvelope, fitParkedHighFraction, useInsideWindow, type DailyUse, type EnvelopeComparison,
} from "../domain/ageing/projection.ts";
import { KOKAM_NMC111_MODEL } from "../domain/ageing/nmc111-gr-kokam75ah.ts";
import type { ColumnMaps } from "./import/column-map.ts";
import { convertBmsLog } from "./import/convert-bms-log.ts";

export interface EvaluationOptions {
  columnMaps: ColumnMaps;
  envelopeRules: EnvelopeRules;
  /** projection horizon [years] */
  years: number;
}

export type FigureKind = "measured" | "derived" | "model projection";

/** One reported number with its unit, its definition and where it comes from. */
export interface Figure {
  id: string;
  label: string;
  /** the formatted value every output prints, or "n/a" with the reason in `definition` */
  text: string;
  value?: number;
  unit: string;
  definition: string;
  kind: FigureKind;
  /** for model projections: "model projection (<model>, parameters …; inputs …)" */
  provenance?: string;
}

export interface VehicleResult {
  evaluation: LogEvaluation;
  envelope?: OperatingEnvelope;
  baselineUse?: DailyUse;
  envelopeUse?: DailyUse;
  comparison?: EnvelopeComparison;
  notes: string[];
  figures: Figure[];
}

export interface EvaluationRun {
  inputDir: string;
  files: string[];
  vehicles: VehicleResult[];
  importErrors: ImportError[];
  importIssues: ImportIssue[];
}

/** Assumptions used only when the log cannot tell; each use is written into the vehicle's notes. */
const ASSUMED = { temperatureC: 25, cRate: 0.3 } as const;

export async function runEvaluation(inputDir: string, options: EvaluationOptions): Promise<EvaluationRun> {
  const files = (await readdir(inputDir)).filter((f) => /\.(csv|json)$/i.test(f)).sort();
  const logs: BmsLog[] = [];
  const importErrors: ImportError[] = [];
  const importIssues: ImportIssue[] = [];
  for (const f of files) {
    const result = await convertBmsLog(join(inputDir, f), options.columnMaps);
    importIssues.push(...result.issues);
    if (result.ok) logs.push(result.log);
    else importErrors.push(result.error);
  }
  const byVehicle = new Map<string, BmsLog[]>();
  for (const log of logs) byVehicle.set(log.meta.vehicleId, [...(byVehicle.get(log.meta.vehicleId) ?? []), log]);
  const vehicles = [...byVehicle.values()].map((group) => evaluateOneVehicle(group, options));
  return { inputDir, files, vehicles, importErrors, importIssues };
}

export function evaluateOneVehicle(logs: readonly BmsLog[], options: EvaluationOptions): VehicleResult {
  const evaluation = evaluateVehicle(logs, DEFAULT_ANALYSIS);
  const notes: string[] = [];
  if (evaluation.simulated) notes.push("SIMULATED DATA: at least one log of this vehicle declares itself simulated.");
  const result: VehicleResult = { evaluation, notes, figures: [] };
  const u = evaluation.usage;
  if (evaluation.soh && u.efcPerDay > 0 && u.dailyDodPct > 0) {
    result.envelope = deriveEnvelope(options.envelopeRules, { sohPct: evaluation.soh.value * 100 });
    if (u.meanTemperatureC === undefined) notes.push(`log has no temperature: projection assumes ${ASSUMED.temperatureC} °C`);
    if (u.meanDischargeCRate === undefined || u.meanChargeCRate === undefined) {
      notes.push(`log has no current or no rated Ah: projection day assumes ${ASSUMED.cRate} C legs (the model has no C-rate dependence; only the timing of the day changes)`);
    }
    const socHigh = u.dailyMaxSocPct / 100;
    const partial = {
      socHigh,
      socLow: Math.max(0, socHigh - u.dailyDodPct / 100),
      efcPerDay: u.efcPerDay,
      temperatureC: u.meanTemperatureC ?? ASSUMED.temperatureC,
      dischargeCRate: u.meanDischargeCRate ?? ASSUMED.cRate,
      chargeCRate: u.meanChargeCRate ?? ASSUMED.cRate,
    };
    const baselineUse: DailyUse = { ...partial, parkedHighFraction: fitParkedHighFraction(partial, u.meanSocPct / 100) };
    const envelopeUse = useInsideWindow(baselineUse, result.envelope.socMinPct / 100, result.envelope.socMaxPct / 100);
    result.baselineUse = baselineUse;
    result.envelopeUse = envelopeUse;
    result.comparison = compareEnvelope(baselineUse, envelopeUse, options.years, evaluation.soh.value);
    if (result.comparison.startNote) notes.push(result.comparison.startNote);
  } else {
    notes.push("no SOH estimate or no SOC use in the log: no envelope and no projection");
  }
  result.figures = summaryFigures(result, options.years);
  return result;
}

const f1 = (v: number) => v.toFixed(1);
const f2 = (v: number) => v.toFixed(2);

function figure(id: string, label: string, unit: string, definition: string, kind: FigureKind, value: number | undefined, format: (v: number) => string, provenance?: string): Figure {
  return { id, label, unit, definition, kind, value, text: value === undefined ? "n/a" : format(value), provenance };
}

export function describeUse(use: DailyUse): string {
  return `EFC/day ${use.efcPerDay.toFixed(3)}, SOC ${f1(use.socLow * 100)}–${f1(use.socHigh * 100)} %, parked at top ${f1(use.parkedHighFraction * 100)} % of rest time, ${f1(use.temperatureC)} °C`;
}

export function modelProvenance(use: DailyUse, years: number): string {
  const params = Object.entries(KOKAM_NMC111_MODEL.params).map(([k, v]) => `${k}=${v}`).join(", ");
  return `model projection (${KOKAM_NMC111_MODEL.name}, parameters ${params}; inputs ${describeUse(use)}, ${years} years; source ${KOKAM_NMC111_MODEL.citation})`;
}

export function summaryFigures(r: VehicleResult, years: number): Figure[] {
  const e = r.evaluation;
  const se = e.energyCapacityKwh?.standardError;
  const out: Figure[] = [
    figure("averageEfficiency", "Average efficiency", "Wh/km", "total trip energy out (−∫V·I dt over trips) / total trip distance", "measured", e.averageEfficiencyWhPerKm, f1),
    figure("averageEfficiencyKmPerKwh", "Average efficiency", "km/kWh", "1000 / average efficiency in Wh/km", "derived", e.averageEfficiencyKmPerKwh, f2),
    figure("totalDistance", "Total distance", "km", "sum of the distances of all detected trips (odometer, else ∫speed dt)", "measured", e.totalDistanceKm, f1),
    figure("remainingCapacity", "Remaining capacity", "kWh",
      `usable energy: mean over discharging segments with |ΔSOC| ≥ 20 % of delivered energy (−∫V·I dt) / ΔSOC (a log without one: charge energy or session energy / ΔSOC, which includes charging losses); n = ${e.energyCapacityKwh?.n ?? 0}${se !== undefined ? `, ± ${f2(se)} kWh standard error` : ", no uncertainty (n < 2)"}`,
      "measured", e.remainingCapacityKwh, f2),
    figure("capacityLoss", "Capacity loss", "kWh", "declared rated energy − remaining capacity", "derived", e.capacityLossKwh, f2),
    figure("soh", "State of health", "%", `estimated capacity / declared rated capacity (${e.soh?.basis ?? "n/a"} basis)${e.soh?.standardError !== undefined ? `, ± ${f2(e.soh.standardError * 100)} % standard error` : ""}`, "measured", e.soh ? e.soh.value * 100 : undefined, f1),
    figure("rangePerCharge", "Range per charge", "km", "remaining capacity × 100 % SOC window / average efficiency", "derived", e.rangePerChargeKm, f1),
  ];
  if (r.envelope) {
    const width = r.envelope.socMaxPct - r.envelope.socMinPct;
    out.push(figure("rangePerChargeEnvelope", "Range per charge inside envelope", "km",
      `remaining capacity × recommended SOC window (${r.envelope.socMinPct}–${r.envelope.socMaxPct} %) / average efficiency`, "derived",
      rangePerChargeKm(e.remainingCapacityKwh, e.averageEfficiencyWhPerKm, width), f1));
  }
  const c = r.comparison;
  if (c && r.baselineUse && r.envelopeUse && e.remainingCapacityKwh !== undefined) {
    for (const [id, label, p, use] of [
      ["projectedCapacityBaseline", "Projected remaining capacity, observed use", c.baseline, r.baselineUse],
      ["projectedCapacityEnvelope", "Projected remaining capacity, recommended envelope", c.envelope, r.envelopeUse],
    ] as const) {
      const q0 = p.points[0].relativeCapacity;
      const q1 = p.points.at(-1)!.relativeCapacity;
      out.push(figure(id, `${label} after ${years} years`, "kWh",
        `remaining capacity × q(end)/q(start), q = model relative capacity, started at the model age matching the measured SOH`,
        "model projection", e.remainingCapacityKwh * (q1 / q0), f2, modelProvenance(use, years)));
    }
  }
  return out;
}
