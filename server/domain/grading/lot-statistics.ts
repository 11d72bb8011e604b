/**
 * Robust lot statistics: median and the median absolute deviation scaled to a normal σ (1.4826·MAD; Rousseeuw &
 * Croux, J. Am. Stat. Assoc. 88 (1993) 1273), robust z-scores and k·σ outliers. A few defective cells in a lot
 * barely move the median and the MAD, so they stand out instead of widening the limits that should catch them.
 */

/** 1/Φ⁻¹(3/4): makes the MAD a consistent estimator of σ for normal data. */
export const MAD_TO_SIGMA = 1.4826;

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of an empty list");
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function medianAbsoluteDeviation(values: readonly number[]): number {
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
}

/** 1.4826·MAD, floored at minSigma (a lot of identical readings would otherwise give σ = 0 and infinite z). */
export function robustSigma(values: readonly number[], minSigma = 0): number {
  return Math.max(MAD_TO_SIGMA * medianAbsoluteDeviation(values), minSigma);
}

/** Percentile p (0–100) by linear interpolation between order statistics (Hyndman & Fan 1996, type 7). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError("percentile of an empty list");
  const s = [...values].sort((a, b) => a - b);
  const h = ((s.length - 1) * Math.min(100, Math.max(0, p))) / 100;
  const lo = Math.floor(h);
  return s[lo] + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]) - s[lo]);
}

export interface RobustSummary {
  n: number;
  median: number;
  robustSigma: number;
  min: number;
  max: number;
}

export function summarise(values: readonly number[], minSigma = 0): RobustSummary {
  return { n: values.length, median: median(values), robustSigma: robustSigma(values, minSigma), min: Math.min(...values), max: Math.max(...values) };
}

export function robustZ(value: number, summary: Pick<RobustSummary, "median" | "robustSigma">): number {
  const d = value - summary.median;
  if (summary.robustSigma > 0) return d / summary.robustSigma;
  return d === 0 ? 0 : Math.sign(d) * Infinity;
}

export function robustZScores(values: readonly number[], minSigma = 0): number[] {
  const s = summarise(values, minSigma);
  return values.map((v) => robustZ(v, s));
}

export type OutlierSide = "low" | "high" | "both";

/** Indices of values beyond k robust σ from the median, on the given side. */
export function outlierIndices(values: readonly number[], k: number, side: OutlierSide = "both", minSigma = 0): number[] {
  return robustZScores(values, minSigma)
    .map((z, i) => ({ z, i }))
    .filter(({ z }) => (side === "high" ? z > k : side === "low" ? z < -k : Math.abs(z) > k))
    .map(({ i }) => i);
}
