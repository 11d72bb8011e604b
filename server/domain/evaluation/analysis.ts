/**
 * Figures of one vehicle's BMS log (DESIGN §11): per-trip energy and efficiency, capacity and SOH by
 * coulomb counting, range per charge, and the usage statistics the ageing projection needs.
 * Every figure is measured or derived from the log; nothing here is a model projection.
 *
 * Definitions (the report prints each one next to its value):
 * - trip energy out = −∫V·I dt over the trip [kWh]: energy the pack delivered, regeneration netted out;
 * - average efficiency = Σ trip energy out / Σ trip distance [Wh/km] (distance-weighted, not a mean of trip
 *   ratios); km/kWh = 1000 / (Wh/km);
 * - capacity (coulomb counting) = |∫I dt| / (|ΔSOC| / 100) over every trip or charge session with
 *   |ΔSOC| ≥ minDeltaSocPct, averaged; energy capacity likewise with the energy delivered (−∫V·I dt) over the
 *   discharging ones — over charging ones (energy taken in) only when no discharge qualifies; uncertainty =
 *   standard error of the mean (s / √n), given only when n ≥ 2;
 * - SOH = capacity / rated capacity (Ah when both are known, else kWh);
 * - remaining capacity [kWh] = energy capacity estimate; capacity loss [kWh] = rated energy − remaining;
 * - range per charge [km] = remaining capacity × SOC window / average efficiency, with the 0–100 % window.
 */
import type { BmsLog, BmsSample, SessionSummary } from "./bms-log.ts";
import { DEFAULT_SEGMENTATION, segmentLog, type Segment, type SegmentationRules } from "./segments.ts";

export interface AnalysisOptions {
  segmentation: SegmentationRules;
  /** smallest |ΔSOC| of a segment used for a capacity estimate [%]; small ΔSOC magnifies SOC error */
  minDeltaSocPct: number;
  /** declared rated capacity / energy; override what the log's meta says */
  ratedCapacityAh?: number;
  ratedEnergyKwh?: number;
}

export const DEFAULT_ANALYSIS: AnalysisOptions = Object.freeze({ segmentation: DEFAULT_SEGMENTATION, minDeltaSocPct: 20 });

export interface Estimate {
  value: number;
  /** standard error of the mean; undefined when fewer than two segments qualified */
  standardError?: number;
  /** sample standard deviation of the per-segment values (n ≥ 2) */
  spread?: number;
  n: number;
}

export interface TripFigures {
  index: number;
  kind: "trip" | "charge";
  startTimeS: number;
  endTimeS: number;
  distanceKm: number;
  /** trips: energy out (> 0); charges: energy in (> 0) [kWh] */
  energyKwh: number;
  /** trips only */
  efficiencyWhPerKm?: number;
  startSocPct?: number;
  endSocPct?: number;
  meanTemperatureC?: number;
}

export interface UsageStatistics {
  spanDays: number;
  /** equivalent full cycles per day: Σ|ΔSOC| / 2 / 100 per day (the BLAST-Lite definition) */
  efcPerDay: number;
  /** mean over logged calendar days (UTC) of max SOC − min SOC [%] */
  dailyDodPct: number;
  /** mean over logged calendar days of the day's max SOC [%] */
  dailyMaxSocPct: number;
  /** time-weighted mean SOC, holding the last value across gaps [%] */
  meanSocPct: number;
  /** time-weighted mean temperature; undefined when the log has none [°C] */
  meanTemperatureC?: number;
  /** mean |I| / rated capacity while driving / charging; undefined without current or rating [1/h] */
  meanDischargeCRate?: number;
  meanChargeCRate?: number;
}

export interface LogEvaluation {
  vehicleId: string;
  simulated: boolean;
  sources: string[];
  trips: TripFigures[];
  tripCount: number;
  chargeCount: number;
  totalDistanceKm: number;
  tripEnergyOutKwh: number;
  chargeEnergyInKwh: number;
  averageEfficiencyWhPerKm?: number;
  averageEfficiencyKmPerKwh?: number;
  capacityAh?: Estimate;
  energyCapacityKwh?: Estimate;
  /** the per-segment values behind the capacity estimates, at each segment's end */
  /** per qualifying segment; `discharge`: energy the pack delivered (usable energy), else energy taken in on charge */
  capacityPoints: { timeS: number; capacityAh?: number; energyCapacityKwh: number; discharge: boolean }[];
  ratedCapacityAh?: number;
  ratedEnergyKwh?: number;
  soh?: { value: number; standardError?: number; basis: "Ah" | "kWh" };
  remainingCapacityKwh?: number;
  capacityLossKwh?: number;
  rangePerChargeKm?: number;
  usage: UsageStatistics;
  /** largest and mean spread between the highest and lowest cell voltage [mV], when cells are logged */
  cellSpread?: { maxMv: number; meanMv: number };
}

export function estimate(values: readonly number[]): Estimate | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { value: mean, n };
  const spread = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { value: mean, spread, standardError: spread / Math.sqrt(n), n };
}

/** Merge time series logs of one vehicle into one, samples in time order (duplicate times keep the first). */
export function mergeSamples(series: readonly (readonly BmsSample[])[]): BmsSample[] {
  const all = series.flat().slice().sort((a, b) => a.timeS - b.timeS);
  return all.filter((s, i) => i === 0 || s.timeS > all[i - 1].timeS);
}

/** Evaluate all logs of one vehicle. Time series and session summaries may be mixed. */
export function evaluateVehicle(logs: readonly BmsLog[], options: AnalysisOptions = DEFAULT_ANALYSIS): LogEvaluation {
  if (logs.length === 0) throw new Error("evaluateVehicle needs at least one log");
  const vehicleId = logs[0].meta.vehicleId;
  const samples = mergeSamples(logs.flatMap((l) => (l.shape === "timeseries" ? [l.samples] : [])));
  const sessions = logs.flatMap((l) => (l.shape === "sessions" ? l.sessions : [])).sort((a, b) => a.startTimeS - b.startTimeS);
  const ratedCapacityAh = options.ratedCapacityAh ?? logs.map((l) => l.meta.ratedCapacityAh).find((v) => v !== undefined);
  const ratedEnergyKwh = options.ratedEnergyKwh ?? logs.map((l) => l.meta.ratedEnergyKwh).find((v) => v !== undefined);

  const segments = segmentLog(samples, options.segmentation);
  const trips = [...segments.map(segmentFigures), ...sessions.map(sessionFigures)]
    .sort((a, b) => a.startTimeS - b.startTimeS)
    .map((t, index) => ({ ...t, index: index + 1 }));

  const driven = trips.filter((t) => t.kind === "trip");
  const totalDistanceKm = sum(driven.map((t) => t.distanceKm));
  const tripEnergyOutKwh = sum(driven.map((t) => t.energyKwh));
  const chargeEnergyInKwh = sum(trips.filter((t) => t.kind === "charge").map((t) => t.energyKwh));
  const averageEfficiencyWhPerKm = totalDistanceKm > 0 ? (tripEnergyOutKwh * 1000) / totalDistanceKm : undefined;

  const qualifies = (start?: number, end?: number) =>
    start !== undefined && end !== undefined && Math.abs(end - start) >= options.minDeltaSocPct;
  const socFraction = (start: number, end: number) => Math.abs(end - start) / 100;
  const capacityPoints: LogEvaluation["capacityPoints"] = [
    ...segments.filter((s) => qualifies(s.startSocPct, s.endSocPct)).map((s) => {
      const discharge = s.chargeAh < 0;
      return {
        timeS: s.endTimeS,
        capacityAh: Math.abs(s.chargeAh) / socFraction(s.startSocPct!, s.endSocPct!),
        // delivered energy net of regeneration (the SOC change nets it too); on charge, the energy taken in
        energyCapacityKwh: (discharge ? -s.netEnergyKwh : s.throughputEnergyKwh) / socFraction(s.startSocPct!, s.endSocPct!),
        discharge,
      };
    }),
    ...sessions.filter((s) => qualifies(s.startSocPct, s.endSocPct)).map((s) => ({
      timeS: s.endTimeS,
      energyCapacityKwh: s.energyKwh / socFraction(s.startSocPct, s.endSocPct),
      discharge: false,
    })),
  ].sort((a, b) => a.timeS - b.timeS);
  const capacityAh = estimate(capacityPoints.flatMap((p) => (p.capacityAh === undefined ? [] : [p.capacityAh])));
  // Usable energy is what the pack delivers: charging happens at a higher voltage and adds its losses, so charge
  // segments overstate it. They are used only when no discharge segment qualifies (e.g. a charge-session log).
  const delivered = capacityPoints.filter((p) => p.discharge);
  const energyCapacityKwh = estimate((delivered.length > 0 ? delivered : capacityPoints).map((p) => p.energyCapacityKwh));

  const soh = stateOfHealth(capacityAh, energyCapacityKwh, ratedCapacityAh, ratedEnergyKwh);
  const remainingCapacityKwh = energyCapacityKwh?.value;
  const evaluation: LogEvaluation = {
    vehicleId,
    simulated: logs.some((l) => l.meta.simulated),
    sources: logs.map((l) => l.source),
    trips,
    tripCount: driven.length,
    chargeCount: trips.length - driven.length,
    totalDistanceKm,
    tripEnergyOutKwh,
    chargeEnergyInKwh,
    averageEfficiencyWhPerKm,
    averageEfficiencyKmPerKwh: averageEfficiencyWhPerKm ? 1000 / averageEfficiencyWhPerKm : undefined,
    capacityAh,
    energyCapacityKwh,
    capacityPoints,
    ratedCapacityAh,
    ratedEnergyKwh,
    soh,
    remainingCapacityKwh,
    capacityLossKwh: ratedEnergyKwh !== undefined && remainingCapacityKwh !== undefined ? ratedEnergyKwh - remainingCapacityKwh : undefined,
    rangePerChargeKm: rangePerChargeKm(remainingCapacityKwh, averageEfficiencyWhPerKm, 100),
    usage: usageStatistics(samples, sessions, segments, ratedCapacityAh),
  };
  const spreads = samples.filter((s) => s.cellVoltagesV && s.cellVoltagesV.length > 1)
    .map((s) => (Math.max(...s.cellVoltagesV!) - Math.min(...s.cellVoltagesV!)) * 1000);
  if (spreads.length > 0) evaluation.cellSpread = { maxMv: Math.max(...spreads), meanMv: sum(spreads) / spreads.length };
  return evaluation;
}

/** range = usable energy / efficiency, usable energy = energy capacity × SOC window width. */
export function rangePerChargeKm(energyCapacityKwh: number | undefined, efficiencyWhPerKm: number | undefined, socWindowPct: number): number | undefined {
  if (energyCapacityKwh === undefined || efficiencyWhPerKm === undefined || efficiencyWhPerKm <= 0) return undefined;
  return (energyCapacityKwh * (socWindowPct / 100) * 1000) / efficiencyWhPerKm;
}

function stateOfHealth(capacityAh?: Estimate, energyKwh?: Estimate, ratedAh?: number, ratedKwh?: number): LogEvaluation["soh"] {
  const pick = (e: Estimate | undefined, rated: number | undefined, basis: "Ah" | "kWh") =>
    e && rated ? { value: e.value / rated, standardError: e.standardError === undefined ? undefined : e.standardError / rated, basis } : undefined;
  return pick(capacityAh, ratedAh, "Ah") ?? pick(energyKwh, ratedKwh, "kWh");
}

function segmentFigures(s: Segment): Omit<TripFigures, "index"> {
  const energyKwh = s.kind === "trip" ? -s.netEnergyKwh : s.netEnergyKwh;
  return {
    kind: s.kind,
    startTimeS: s.startTimeS,
    endTimeS: s.endTimeS,
    distanceKm: s.distanceKm,
    energyKwh,
    efficiencyWhPerKm: s.kind === "trip" && s.distanceKm > 0 ? (energyKwh * 1000) / s.distanceKm : undefined,
    startSocPct: s.startSocPct,
    endSocPct: s.endSocPct,
    meanTemperatureC: s.meanTemperatureC,
  };
}

function sessionFigures(s: SessionSummary): Omit<TripFigures, "index"> {
  return {
    kind: s.kind,
    startTimeS: s.startTimeS,
    endTimeS: s.endTimeS,
    distanceKm: s.distanceKm,
    energyKwh: s.energyKwh,
    efficiencyWhPerKm: s.kind === "trip" && s.distanceKm > 0 ? (s.energyKwh * 1000) / s.distanceKm : undefined,
    startSocPct: s.startSocPct,
    endSocPct: s.endSocPct,
  };
}

const S_PER_DAY = 86_400;

function usageStatistics(samples: readonly BmsSample[], sessions: readonly SessionSummary[], segments: readonly Segment[], ratedAh?: number): UsageStatistics {
  // SOC known at points in time: every sample, or both ends of every session.
  const socPoints = [
    ...samples.filter((s) => s.socPct !== undefined).map((s) => ({ t: s.timeS, v: s.socPct! })),
    ...sessions.flatMap((s) => [{ t: s.startTimeS, v: s.startSocPct }, { t: s.endTimeS, v: s.endSocPct }]),
  ].sort((a, b) => a.t - b.t);
  const tempPoints = samples.filter((s) => s.temperatureC !== undefined).map((s) => ({ t: s.timeS, v: s.temperatureC! }));
  const startS = Math.min(samples[0]?.timeS ?? Infinity, sessions[0]?.startTimeS ?? Infinity);
  const endS = Math.max(samples.at(-1)?.timeS ?? -Infinity, sessions.at(-1)?.endTimeS ?? -Infinity);
  const spanDays = Math.max((endS - startS) / S_PER_DAY, 1 / 24);

  const days = new Map<number, { min: number; max: number }>();
  for (const p of socPoints) {
    const day = Math.floor(p.t / S_PER_DAY);
    const d = days.get(day) ?? { min: p.v, max: p.v };
    days.set(day, { min: Math.min(d.min, p.v), max: Math.max(d.max, p.v) });
  }
  const daily = [...days.values()];
  const socThroughputPct = sum(socPoints.slice(1).map((p, i) => Math.abs(p.v - socPoints[i].v)));

  const cRate = (kind: "trip" | "charge") => {
    const segs = segments.filter((s) => s.kind === kind);
    const hours = sum(segs.map((s) => (s.endTimeS - s.startTimeS) / 3600));
    return ratedAh && hours > 0 ? sum(segs.map((s) => Math.abs(s.chargeAh))) / hours / ratedAh : undefined;
  };
  return {
    spanDays,
    efcPerDay: socThroughputPct / 2 / 100 / spanDays,
    dailyDodPct: daily.length ? sum(daily.map((d) => d.max - d.min)) / daily.length : 0,
    dailyMaxSocPct: daily.length ? sum(daily.map((d) => d.max)) / daily.length : 0,
    meanSocPct: holdMean(socPoints) ?? 0,
    meanTemperatureC: holdMean(tempPoints),
    meanDischargeCRate: cRate("trip"),
    meanChargeCRate: cRate("charge"),
  };
}

/** Time-weighted mean of a step signal that holds each value until the next point. */
function holdMean(points: readonly { t: number; v: number }[]): number | undefined {
  if (points.length === 0) return undefined;
  const total = points.at(-1)!.t - points[0].t;
  if (total <= 0) return points[0].v;
  return sum(points.slice(0, -1).map((p, i) => p.v * (points[i + 1].t - p.t))) / total;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
