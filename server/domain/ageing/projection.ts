/**
 * sim_runner: project capacity over repeated days of use with the Kokam NMC111 BLAST-Lite model, for the
 * observed (baseline) use and for the same driving inside a recommended SOC window (envelope).
 * Every figure this module returns is a MODEL PROJECTION, not a measurement.
 *
 * The day of use (buildDailyProfile): the day's driving throughput (EFC/day) is done in cycles of the observed
 * daily depth between socLow and socHigh, at the observed C-rates; the rest of the day the car is parked,
 * a fraction of that time at socHigh and the rest at socLow, the fraction chosen so the day's mean SOC
 * matches the log. The envelope keeps the throughput, the parking fraction and the temperature, and moves
 * the cycle inside [socMin, socMax] (more, shallower cycles when the window is narrower than the depth).
 *
 * The pack starts at its "equivalent age": the number of baseline days after which the model reaches the
 * measured SOH, so the projection continues from the measured state rather than from a fresh cell.
 */
import {
  KOKAM_FRESH_STATE, KOKAM_NMC111_MODEL, kokamOutputs, kokamRates, kokamStressors, nominalEfc, stepKokam,
  type KokamState, type UsageProfile,
} from "./nmc111-gr-kokam75ah.ts";

export interface DailyUse {
  /** top and bottom of the daily cycle, SOC fraction 0..1 */
  socHigh: number;
  socLow: number;
  efcPerDay: number;
  /** share of the parked time spent at socHigh (the rest at socLow) */
  parkedHighFraction: number;
  temperatureC: number;
  dischargeCRate: number;
  chargeCRate: number;
}

const DAY_S = 86_400;

/** Depths of the day's cycles: full cycles of socHigh − socLow, then the remainder of the throughput. */
function cycleDepths(use: Omit<DailyUse, "parkedHighFraction">): number[] {
  const dod = use.socHigh - use.socLow;
  if (!(dod > 0)) throw new Error(`daily use needs socHigh > socLow (got ${use.socHigh}..${use.socLow})`);
  const depths: number[] = [];
  for (let left = use.efcPerDay; left > 1e-9; left -= dod) depths.push(Math.min(dod, left));
  return depths;
}

/** Duration of the down and up legs of a cycle of depth d [s], squeezed to 90 % of the day if needed. */
function legDurations(use: Omit<DailyUse, "parkedHighFraction">, depths: readonly number[]): { down: number; up: number }[] {
  const legs = depths.map((d) => ({ down: (d / use.dischargeCRate) * 3600, up: (d / use.chargeCRate) * 3600 }));
  const total = legs.reduce((a, l) => a + l.down + l.up, 0);
  const scale = Math.min(1, (0.9 * DAY_S) / Math.max(total, 1e-9));
  return legs.map((l) => ({ down: l.down * scale, up: l.up * scale }));
}

/** The parked-at-socHigh share that gives the day a time-mean SOC of meanSoc (clamped to 0..1). */
export function fitParkedHighFraction(use: Omit<DailyUse, "parkedHighFraction">, meanSoc: number): number {
  const depths = cycleDepths(use);
  const legs = legDurations(use, depths);
  const cyclingS = legs.reduce((a, l) => a + l.down + l.up, 0);
  const restS = DAY_S - cyclingS;
  // each cycle leg is a linear ramp between socHigh and socHigh − d: its mean is socHigh − d/2
  const cyclingSocS = legs.reduce((a, l, i) => a + (l.down + l.up) * (use.socHigh - depths[i] / 2), 0);
  if (restS <= 0) return 0;
  const f = (meanSoc * DAY_S - cyclingSocS - restS * use.socLow) / (restS * (use.socHigh - use.socLow));
  return Math.min(1, Math.max(0, f));
}

/**
 * One day's SOC/temperature profile on a uniform grid (stepS), periodic: parked at socHigh, then each cycle
 * (down, parked share at the bottom, up), ending at socHigh.
 */
export function buildDailyProfile(use: DailyUse, stepS = 60): UsageProfile {
  const depths = cycleDepths(use);
  const legs = legDurations(use, depths);
  const restS = DAY_S - legs.reduce((a, l) => a + l.down + l.up, 0);
  const lowRestEach = depths.length > 0 ? ((1 - use.parkedHighFraction) * restS) / depths.length : 0;
  const knots: [number, number][] = [[0, use.socHigh]];
  let t = use.parkedHighFraction * restS;
  knots.push([t, use.socHigh]);
  depths.forEach((d, i) => {
    t += legs[i].down; knots.push([t, use.socHigh - d]);
    t += lowRestEach; knots.push([t, use.socHigh - d]);
    t += legs[i].up; knots.push([t, use.socHigh]);
  });
  knots.push([DAY_S, use.socHigh]);

  const timeS: number[] = [];
  const soc: number[] = [];
  let k = 0;
  for (let s = 0; s <= DAY_S; s += stepS) {
    while (k < knots.length - 2 && knots[k + 1][0] <= s) k++;
    const [t0, v0] = knots[k];
    const [t1, v1] = knots[k + 1];
    timeS.push(s);
    soc.push(t1 > t0 ? v0 + ((s - t0) / (t1 - t0)) * (v1 - v0) : v1);
  }
  return { timeS, soc, temperatureC: timeS.map(() => use.temperatureC) };
}

/**
 * The same driving inside an SOC window [socMin, socMax] (fractions): the cycle's top is clamped to socMax,
 * its depth to the window width (the throughput stays, in more cycles); parking habit and temperature stay.
 */
export function useInsideWindow(use: DailyUse, socMin: number, socMax: number): DailyUse {
  const depth = Math.min(use.socHigh - use.socLow, socMax - socMin);
  const socHigh = Math.min(use.socHigh, socMax);
  const socLow = Math.max(socHigh - depth, socMin);
  return { ...use, socLow, socHigh: socLow + depth };
}

export interface ProjectionPoint {
  day: number;
  efc: number;
  relativeCapacity: number;
  relativeResistance: number;
}

export interface Projection {
  model: typeof KOKAM_NMC111_MODEL;
  use: DailyUse;
  stressors: ReturnType<typeof kokamStressors>;
  rates: ReturnType<typeof kokamRates>;
  points: ProjectionPoint[];
}

/** Run the model for `days` repetitions of the day from `state`; points every `everyDays`. */
export function project(use: DailyUse, days: number, start: { state: KokamState; day: number; efc: number }, everyDays = 30): Projection & { end: KokamState } {
  const profile = buildDailyProfile(use);
  const stressors = kokamStressors(profile);
  const rates = kokamRates(profile, stressors);
  let state = start.state;
  let efc = start.efc;
  const point = (d: number): ProjectionPoint => {
    const o = kokamOutputs(state);
    return { day: start.day + d, efc, relativeCapacity: o.q, relativeResistance: o.r };
  };
  const points = [point(0)];
  for (let d = 1; d <= days; d++) {
    efc += nominalEfc(state, stressors);
    state = stepKokam(state, rates, stressors);
    if (d % everyDays === 0 || d === days) points.push(point(d));
  }
  return { model: KOKAM_NMC111_MODEL, use, stressors, rates, points, end: state };
}

/** Days of baseline use after which the model reaches relativeCapacity ≤ soh; undefined past maxDays. */
export function equivalentAge(use: DailyUse, soh: number, maxDays = 40 * 365): { days: number; state: KokamState } | undefined {
  const profile = buildDailyProfile(use);
  const stressors = kokamStressors(profile);
  const rates = kokamRates(profile, stressors);
  let state: KokamState = KOKAM_FRESH_STATE;
  for (let d = 0; d <= maxDays; d++) {
    if (kokamOutputs(state).q <= soh) return { days: d, state };
    state = stepKokam(state, rates, stressors);
  }
  return undefined;
}

export interface EnvelopeComparison {
  equivalentAgeDays?: number;
  /** why the projection starts from a fresh cell, when it does */
  startNote?: string;
  baseline: Projection;
  envelope: Projection;
}

/** Project baseline and envelope use for `years` from the pack's measured SOH (or fresh when unknown). */
export function compareEnvelope(baselineUse: DailyUse, envelopeUse: DailyUse, years: number, measuredSoh?: number): EnvelopeComparison {
  const days = Math.round(years * 365);
  const age = measuredSoh !== undefined && measuredSoh < 1 ? equivalentAge(baselineUse, measuredSoh) : undefined;
  const startNote =
    measuredSoh === undefined ? "no measured SOH: projection starts from a fresh cell"
    : age === undefined && measuredSoh < 1 ? `the model does not reach the measured SOH ${(measuredSoh * 100).toFixed(1)} % within 40 years of the observed use: projection starts from a fresh cell`
    : undefined;
  const start = { state: age?.state ?? KOKAM_FRESH_STATE, day: 0, efc: 0 };
  return {
    equivalentAgeDays: age?.days,
    startNote,
    baseline: project(baselineUse, days, start),
    envelope: project(envelopeUse, days, start),
  };
}
