/**
 * Open-circuit voltage after a rest: the mean of the last `averageS` of the rest, and the relaxation check —
 * the slope dV/dt over the last `slopeWindowS` by least squares. A cell is called relaxed when |dV/dt| is below
 * the threshold (1 mV/h by default, in line with the relaxation criteria used for GITT/OCV tables, e.g.
 * Barai et al., J. Electrochem. Soc. 166 (2019) A1711).
 */
import type { ChannelRecord } from "../equipment/channel.ts";
import { linearLeastSquares } from "../fitting/least-squares.ts";
import { ImprintError, type Measured } from "./measured.ts";

export interface OcvOptions {
  averageS?: number;
  slopeWindowS?: number;
  maxDvdtMvPerH?: number;
}

export interface RestOcv {
  ocvV: Measured;
  endDvdtMvPerH: Measured;
  relaxed: boolean;
  restDurationS: number;
}

/** Least-squares slope of y on t with its standard error. */
export function slopeWithError(timeS: readonly number[], y: readonly number[]): { slopePerS: number; slopeSePerS: number; intercept: number } {
  const t0 = timeS[0];
  const fit = linearLeastSquares([timeS.map(() => 1), timeS.map((t) => t - t0)], y);
  const sigma2 = fit.dof > 0 ? fit.rss / fit.dof : 0;
  return { slopePerS: fit.coefficients[1], slopeSePerS: Math.sqrt(sigma2 * fit.unscaledCovariance[1][1]), intercept: fit.coefficients[0] - fit.coefficients[1] * t0 };
}

export function restOcv(records: readonly ChannelRecord[], options: OcvOptions = {}, what = "ocv"): RestOcv {
  const averageS = options.averageS ?? 60;
  const slopeWindowS = options.slopeWindowS ?? 600;
  const maxDvdtMvPerH = options.maxDvdtMvPerH ?? 1;
  if (records.length < 3) throw new ImprintError(`${what}: ${records.length} rest record(s); need ≥ 3`);
  const end = records[records.length - 1].testTimeS;
  const tail = records.filter((r) => r.testTimeS >= end - averageS);
  const window = records.filter((r) => r.testTimeS >= end - slopeWindowS);
  if (window.length < 3) throw new ImprintError(`${what}: ${window.length} record(s) in the last ${slopeWindowS} s; log the rest more often`);
  const v = tail.map((r) => r.voltageV);
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1)) : 0;
  const slope = slopeWithError(window.map((r) => r.testTimeS), window.map((r) => r.voltageV));
  const dvdt = { value: slope.slopePerS * 3.6e6, uncertainty: slope.slopeSePerS * 3.6e6 };
  return {
    ocvV: { value: mean, uncertainty: sd / Math.sqrt(v.length) },
    endDvdtMvPerH: dvdt,
    relaxed: Math.abs(dvdt.value) <= maxDvdtMvPerH,
    restDurationS: end - records[0].testTimeS,
  };
}
