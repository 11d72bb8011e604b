/**
 * Incremental capacity (dQ/dV, ICA; Dubarry et al., J. Power Sources 219 (2012) 204) and differential voltage
 * (dV/dQ, DVA; Bloom et al., J. Power Sources 139 (2005) 295) from a low-rate curve.
 * Method, reused by second-life grading:
 * 1. Q from the cycler's accumulators (|Ah| moved), V in the direction of travel;
 * 2. isotonic regression of V on Q (pool-adjacent-violators; Barlow et al. 1972) — the true curve is monotone, so
 *    this removes noise-induced back-steps without a smoothing parameter, and makes Q(V) a function;
 * 3. Q resampled on a uniform voltage grid by linear interpolation, differentiated by central differences;
 * 4. Gaussian filter (σ in volts; Li et al., J. Power Sources 373 (2018) 40, "ICA curves processed by Gaussian
 *    filter"). A Gaussian of width σ broadens a peak of width w to √(w² + σ²) but leaves symmetric peaks in place.
 * Peaks: local maxima with a prominence above a threshold; position refined by a parabola through the three top
 * samples; area by the trapezoidal rule between the valleys that bound the peak.
 */
import type { ChannelRecord } from "../equipment/channel.ts";
import { accumulatedSeries } from "./capacity.ts";
import { ImprintError } from "./measured.ts";

export type CurveInput = readonly ChannelRecord[] | { voltageV: readonly number[]; chargeAh: readonly number[] };

export interface IcaOptions {
  /** voltage grid step [V]; default 1 mV */
  gridStepV?: number;
  /** Gaussian filter σ [V]; default 8 mV */
  smoothingV?: number;
}

export interface IncrementalCapacity {
  /** ascending */
  voltageV: number[];
  /** |dQ/dV| [Ah/V] */
  dqdvAhPerV: number[];
}

export interface DifferentialVoltage {
  /** |Ah| moved since the start of the curve, ascending */
  chargeAh: number[];
  /** |dV/dQ| [V/Ah] */
  dvdqVPerAh: number[];
}

export interface IcaPeak {
  voltageV: number;
  heightAhPerV: number;
  prominenceAhPerV: number;
  areaAh: number;
}

function curveArrays(input: CurveInput, what: string): { v: number[]; q: number[] } {
  const v = "voltageV" in input ? [...input.voltageV] : input.map((r) => r.voltageV);
  const q = "chargeAh" in input
    ? [...input.chargeAh]
    : (() => {
        const c = accumulatedSeries(input.map((r) => r.chargeAh));
        const d = accumulatedSeries(input.map((r) => r.dischargeAh));
        return c.map((x, i) => x + d[i]);
      })();
  if (v.length !== q.length) throw new ImprintError(`${what}: ${v.length} voltages but ${q.length} charges`);
  if (v.length < 10) throw new ImprintError(`${what}: ${v.length} points; need ≥ 10`);
  return { v, q };
}

/** Pool-adjacent-violators: the non-decreasing fit of y (in order), as blocks with their mean and index range. */
function isotonicBlocks(y: readonly number[]): { value: number; from: number; to: number }[] {
  const blocks: { sum: number; n: number; from: number; to: number }[] = [];
  y.forEach((value, i) => {
    blocks.push({ sum: value, n: 1, from: i, to: i });
    while (blocks.length > 1 && blocks[blocks.length - 2].sum / blocks[blocks.length - 2].n >= blocks[blocks.length - 1].sum / blocks[blocks.length - 1].n) {
      const last = blocks.pop()!;
      const prev = blocks[blocks.length - 1];
      prev.sum += last.sum;
      prev.n += last.n;
      prev.to = last.to;
    }
  });
  return blocks.map((b) => ({ value: b.sum / b.n, from: b.from, to: b.to }));
}

function interpolate(xs: readonly number[], ys: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  if (x <= xs[0]) return ys[0];
  if (x >= xs[hi]) return ys[hi];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  return ys[lo] + ((x - xs[lo]) / (xs[hi] - xs[lo])) * (ys[hi] - ys[lo]);
}

/** Gaussian filter with σ in samples, truncated at ±4σ, renormalised at the ends so edges are not pulled down. */
export function gaussianSmooth(y: readonly number[], sigmaSamples: number): number[] {
  if (sigmaSamples <= 0) return [...y];
  const half = Math.ceil(4 * sigmaSamples);
  const kernel = Array.from({ length: 2 * half + 1 }, (_, k) => Math.exp(-0.5 * ((k - half) / sigmaSamples) ** 2));
  return y.map((_, i) => {
    let s = 0;
    let w = 0;
    for (let k = -half; k <= half; k++) {
      const j = i + k;
      if (j < 0 || j >= y.length) continue;
      s += kernel[k + half] * y[j];
      w += kernel[k + half];
    }
    return s / w;
  });
}

/** Central differences on a uniform grid (one-sided at the ends). */
function derivative(y: readonly number[], step: number): number[] {
  return y.map((_, i) => {
    const a = y[Math.max(0, i - 1)];
    const b = y[Math.min(y.length - 1, i + 1)];
    return (b - a) / (step * (Math.min(y.length - 1, i + 1) - Math.max(0, i - 1)));
  });
}

/** Knots of the monotone curve: (mean voltage of each isotonic block, Q at the block's middle). */
function monotoneKnots(input: CurveInput, what: string): { direction: 1 | -1; yKnots: number[]; qKnots: number[] } {
  const { v, q } = curveArrays(input, what);
  const direction: 1 | -1 = v[v.length - 1] >= v[0] ? 1 : -1;
  const blocks = isotonicBlocks(v.map((x) => direction * x));
  if (blocks.length < 3) throw new ImprintError(`${what}: the voltage does not move monotonically (only ${blocks.length} distinct levels)`);
  return {
    direction,
    yKnots: blocks.map((b) => b.value),
    qKnots: blocks.map((b) => (q[b.from] + q[b.to]) / 2),
  };
}

export function incrementalCapacity(input: CurveInput, options: IcaOptions = {}, what = "ica"): IncrementalCapacity {
  const step = options.gridStepV ?? 0.001;
  const sigma = options.smoothingV ?? 0.008;
  const { direction, yKnots, qKnots } = monotoneKnots(input, what);
  const first = Math.ceil(yKnots[0] / step);
  const last = Math.floor(yKnots[yKnots.length - 1] / step);
  if (last - first < 5) throw new ImprintError(`${what}: the curve spans less than 5 grid steps of ${step} V`);
  const grid = Array.from({ length: last - first + 1 }, (_, k) => (first + k) * step);
  const qOnGrid = grid.map((y) => interpolate(yKnots, qKnots, y));
  const dqdv = gaussianSmooth(derivative(qOnGrid, step), sigma / step).map(Math.abs);
  const voltageV = grid.map((y) => direction * y);
  return direction === 1 ? { voltageV, dqdvAhPerV: dqdv } : { voltageV: voltageV.reverse(), dqdvAhPerV: dqdv.reverse() };
}

export interface DvaOptions {
  /** charge grid step [Ah]; default 1/1000 of the curve's charge */
  gridStepAh?: number;
  /** Gaussian filter σ [Ah]; default 1/100 of the curve's charge */
  smoothingAh?: number;
}

export function differentialVoltage(input: CurveInput, options: DvaOptions = {}, what = "dva"): DifferentialVoltage {
  const { direction, yKnots, qKnots } = monotoneKnots(input, what);
  const span = qKnots[qKnots.length - 1] - qKnots[0];
  if (!(span > 0)) throw new ImprintError(`${what}: the curve moves no charge`);
  const step = options.gridStepAh ?? span / 1000;
  const sigma = options.smoothingAh ?? span / 100;
  const n = Math.floor(span / step) + 1;
  const chargeAh = Array.from({ length: n }, (_, k) => qKnots[0] + k * step);
  const vOnGrid = chargeAh.map((q) => interpolate(qKnots, yKnots, q));
  const dvdq = gaussianSmooth(derivative(vOnGrid, step), sigma / step).map((x) => Math.abs(direction * x));
  return { chargeAh: chargeAh.map((q) => q - qKnots[0]), dvdqVPerAh: dvdq };
}

export interface PeakOptions {
  /** minimum prominence as a fraction of the curve's maximum; default 0.05 */
  minProminenceFraction?: number;
}

export function findPeaks(curve: IncrementalCapacity, options: PeakOptions = {}): IcaPeak[] {
  const { voltageV: x, dqdvAhPerV: y } = curve;
  const n = y.length;
  const minProminence = (options.minProminenceFraction ?? 0.05) * Math.max(...y);
  const candidates: { i: number; prominence: number }[] = [];
  for (let i = 1; i < n - 1; i++) {
    if (!(y[i] > y[i - 1] && y[i] >= y[i + 1])) continue;
    // Prominence: height above the higher of the two lowest points reached before meeting higher ground.
    let leftMin = y[i];
    for (let j = i - 1; j >= 0 && y[j] <= y[i]; j--) leftMin = Math.min(leftMin, y[j]);
    let rightMin = y[i];
    for (let j = i + 1; j < n && y[j] <= y[i]; j++) rightMin = Math.min(rightMin, y[j]);
    const prominence = y[i] - Math.max(leftMin, rightMin);
    if (prominence >= minProminence) candidates.push({ i, prominence });
  }
  const valleyBetween = (a: number, b: number): number => {
    let m = a;
    for (let j = a; j <= b; j++) if (y[j] < y[m]) m = j;
    return m;
  };
  return candidates.map(({ i, prominence }, k) => {
    const left = valleyBetween(k > 0 ? candidates[k - 1].i : 0, i);
    const right = valleyBetween(i, k < candidates.length - 1 ? candidates[k + 1].i : n - 1);
    let areaAh = 0;
    for (let j = left; j < right; j++) areaAh += ((y[j] + y[j + 1]) / 2) * (x[j + 1] - x[j]);
    const denom = y[i - 1] - 2 * y[i] + y[i + 1];
    const offset = denom !== 0 ? (0.5 * (y[i - 1] - y[i + 1])) / denom : 0;
    const stepV = (x[i + 1] - x[i - 1]) / 2;
    return {
      voltageV: x[i] + offset * stepV,
      heightAhPerV: y[i] - 0.25 * (y[i - 1] - y[i + 1]) * offset,
      prominenceAhPerV: prominence,
      areaAh,
    };
  });
}
