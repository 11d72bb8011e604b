/**
 * What both entropy methods share: the rest trace they read and the estimate they return.
 * dU/dT here is the full-cell entropic coefficient ∂U_ocv/∂T at fixed SOC, in mV/K; ΔS = n·F·dU/dT (n = 1).
 */
import type { ChannelRecord } from "../equipment/channel.ts";
import { entropyJPerMolK } from "../chemistry/chemistry.ts";

/** One rest at constant SOC: time [s] from the start of the rest, terminal voltage [V], recorded cell temperature [°C]. */
export interface RelaxationTrace {
  timeS: number[];
  voltageV: number[];
  temperatureC: number[];
}

export type EntropyMethod = "fast-relaxation-fit" | "potentiometric";

export interface DudtEstimate {
  method: EntropyMethod;
  dudtMvPerK: number;
  /** one standard uncertainty (k = 1) */
  dudtUncertaintyMvPerK: number;
  entropyJPerMolK: number;
  entropyUncertaintyJPerMolK: number;
  /** relaxed OCV at referenceTemperatureC [V] (the fit's V∞ or the regression's intercept) */
  relaxedOcvV: number;
  referenceTemperatureC: number;
  /** RMS of the fit residuals [mV] */
  residualRmsMv: number;
  /** peak-to-peak swing of the cell temperature used [K] */
  temperatureSwingK: number;
  /** length of the rest the estimate used [s] */
  durationS: number;
}

export function withEntropy(e: Omit<DudtEstimate, "entropyJPerMolK" | "entropyUncertaintyJPerMolK">): DudtEstimate {
  return { ...e, entropyJPerMolK: entropyJPerMolK(e.dudtMvPerK), entropyUncertaintyJPerMolK: entropyJPerMolK(e.dudtUncertaintyMvPerK) };
}

/** Thrown when a trace cannot give an entropy estimate; the message says which trace and why. */
export class EntropyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EntropyError";
  }
}

/**
 * The rest at the end of a segment: the records after the last one whose |current| exceeds `restCurrentA`,
 * with time measured from the first rest record.
 */
export function restTrace(records: readonly ChannelRecord[], restCurrentA: number, what: string): RelaxationTrace {
  let last = -1;
  records.forEach((r, i) => {
    if (Math.abs(r.currentA) > restCurrentA) last = i;
  });
  const rest = records.slice(last + 1);
  if (rest.length < 10) throw new EntropyError(`${what}: only ${rest.length} rest records after the last current above ${restCurrentA} A`);
  const t0 = rest[0].testTimeS;
  return {
    timeS: rest.map((r) => r.testTimeS - t0),
    voltageV: rest.map((r) => r.voltageV),
    temperatureC: rest.map((r) => r.temperatureC),
  };
}

/**
 * Centred moving average over ±halfWidthS, shrinking symmetrically at the ends so it adds no lag.
 * Used on the cell temperature: the true cell temperature changes with a time constant of tens of minutes, so a
 * few minutes of averaging removes the ±0.1 K sensor noise (which would otherwise bias the regression slope
 * towards zero, errors-in-variables) without distorting the signal.
 */
export function centredMovingAverage(timeS: readonly number[], values: readonly number[], halfWidthS: number): number[] {
  const n = values.length;
  const prefix = new Array<number>(n + 1).fill(0);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + values[i];
  let lo = 0;
  let hi = 0;
  return values.map((_, i) => {
    const h = Math.min(halfWidthS, timeS[i] - timeS[0], timeS[n - 1] - timeS[i]);
    while (timeS[lo] < timeS[i] - h) lo++;
    while (lo > 0 && timeS[lo - 1] >= timeS[i] - h) lo--;
    if (hi < i) hi = i;
    while (hi + 1 < n && timeS[hi + 1] <= timeS[i] + h) hi++;
    while (hi > i && timeS[hi] > timeS[i] + h) hi--;
    return (prefix[hi + 1] - prefix[lo]) / (hi - lo + 1);
  });
}

export function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}
