/**
 * Trip and charge-session segmentation of a BMS time series, and the integrals over a segment.
 * Sign: charge current > 0 (bms-log.ts). Pure: arrays in, numbers out.
 *
 * Rules (defaults in DEFAULT_SEGMENTATION):
 * - a sample is "driving" when speed > movingSpeedKph, or the odometer advanced since the previous sample;
 *   a log with neither speed nor odometer counts a discharge (I < −currentThresholdA) as driving;
 * - a sample is "charging" when it is not driving and I > +currentThresholdA;
 * - a segment is a run of samples of one kind; samples of no kind (stops at lights, CV tail below the
 *   threshold) stay inside it while they last ≤ maxStopS; any time gap > maxGapS between consecutive
 *   samples ends it (the logger was off: nothing is known about that interval);
 * - segments shorter than minSegmentS are dropped.
 * Integrals use the trapezoid rule over consecutive samples, skipping intervals longer than maxGapS.
 */
import type { BmsSample } from "./bms-log.ts";

export interface SegmentationRules {
  currentThresholdA: number;
  movingSpeedKph: number;
  maxGapS: number;
  maxStopS: number;
  minSegmentS: number;
}

export const DEFAULT_SEGMENTATION: SegmentationRules = Object.freeze({
  currentThresholdA: 0.5,
  movingSpeedKph: 1,
  maxGapS: 300,
  maxStopS: 600,
  minSegmentS: 60,
});

export type SegmentKind = "trip" | "charge";

export interface Segment {
  kind: SegmentKind;
  /** inclusive sample indices */
  startIndex: number;
  endIndex: number;
  startTimeS: number;
  endTimeS: number;
  distanceKm: number;
  /** ∫V·I dt over the segment [kWh], signed (charge > 0; a trip's is negative, regeneration included) */
  netEnergyKwh: number;
  /** ∫V·|I| dt [kWh]: energy moved through the terminals either way */
  throughputEnergyKwh: number;
  /** ∫I dt [Ah], signed */
  chargeAh: number;
  startSocPct?: number;
  endSocPct?: number;
  meanTemperatureC?: number;
}

type SampleKind = SegmentKind | "none";

function classify(samples: readonly BmsSample[], rules: SegmentationRules): SampleKind[] {
  const hasMotionData = samples.some((s) => s.speedKph !== undefined || s.odometerKm !== undefined);
  return samples.map((s, i) => {
    const prevOdo = i > 0 ? samples[i - 1].odometerKm : undefined;
    const moving =
      (s.speedKph !== undefined && s.speedKph > rules.movingSpeedKph) ||
      (s.speedKph === undefined && s.odometerKm !== undefined && prevOdo !== undefined && s.odometerKm > prevOdo) ||
      (!hasMotionData && s.packCurrentA < -rules.currentThresholdA);
    if (moving) return "trip";
    if (s.packCurrentA > rules.currentThresholdA) return "charge";
    return "none";
  });
}

export function segmentLog(samples: readonly BmsSample[], rules: SegmentationRules = DEFAULT_SEGMENTATION): Segment[] {
  const kinds = classify(samples, rules);
  const segments: Segment[] = [];
  let i = 0;
  while (i < samples.length) {
    const kind = kinds[i];
    if (kind === "none") { i++; continue; }
    let lastOfKind = i;
    let j = i + 1;
    while (j < samples.length) {
      if (samples[j].timeS - samples[j - 1].timeS > rules.maxGapS) break;
      if (kinds[j] === kind) lastOfKind = j;
      else if (kinds[j] !== "none" || samples[j].timeS - samples[lastOfKind].timeS > rules.maxStopS) break;
      j++;
    }
    if (samples[lastOfKind].timeS - samples[i].timeS >= rules.minSegmentS) {
      segments.push(describeSegment(samples, kind, i, lastOfKind, rules.maxGapS));
    }
    i = lastOfKind + 1;
  }
  return segments;
}

/** Trapezoid integral of f over samples a..b [unit·s], skipping intervals longer than maxGapS. */
export function integrate(samples: readonly BmsSample[], a: number, b: number, maxGapS: number, f: (s: BmsSample) => number): number {
  let sum = 0;
  for (let k = a; k < b; k++) {
    const dt = samples[k + 1].timeS - samples[k].timeS;
    if (dt <= maxGapS) sum += 0.5 * (f(samples[k]) + f(samples[k + 1])) * dt;
  }
  return sum;
}

const S_PER_H = 3600;

function describeSegment(samples: readonly BmsSample[], kind: SegmentKind, a: number, b: number, maxGapS: number): Segment {
  const first = samples[a];
  const last = samples[b];
  const distanceKm =
    first.odometerKm !== undefined && last.odometerKm !== undefined
      ? last.odometerKm - first.odometerKm
      : integrate(samples, a, b, maxGapS, (s) => s.speedKph ?? 0) / S_PER_H;
  const temps = samples.slice(a, b + 1).map((s) => s.temperatureC).filter((t): t is number => t !== undefined);
  const segment: Segment = {
    kind,
    startIndex: a,
    endIndex: b,
    startTimeS: first.timeS,
    endTimeS: last.timeS,
    distanceKm: kind === "trip" ? distanceKm : 0,
    netEnergyKwh: integrate(samples, a, b, maxGapS, (s) => s.packVoltageV * s.packCurrentA) / S_PER_H / 1000,
    throughputEnergyKwh: integrate(samples, a, b, maxGapS, (s) => s.packVoltageV * Math.abs(s.packCurrentA)) / S_PER_H / 1000,
    chargeAh: integrate(samples, a, b, maxGapS, (s) => s.packCurrentA) / S_PER_H,
  };
  if (first.socPct !== undefined) segment.startSocPct = first.socPct;
  if (last.socPct !== undefined) segment.endSocPct = last.socPct;
  if (temps.length > 0) segment.meanTemperatureC = temps.reduce((x, y) => x + y, 0) / temps.length;
  return segment;
}
