/**
 * Self-discharge screens (DESIGN §6).
 * K-value: the OCV decay rate during an ageing rest, −dOCV/dt in mV/day by least squares (cell makers' classic
 * micro-short screen: K = ΔOCV/Δt between two OCV readings days apart; the regression over all readings of the
 * rest is the same estimator with a stated standard error). The first part of the rest still carries the relaxation of the previous current (~1 h time
 * constant): it is EXCLUDED (excludeFirstS), not modelled, so the slope is the leak only. The standard error is
 * the regression's, inflated for AR(1)-correlated residuals.
 * Potentiostatic hold current: holding the cell at its own OCV, the current the channel supplies decays to the
 * leak current; the asymptote I∞ is fitted with I(t) = I∞ + a·e^(−t/τ) (variable projection: τ by a 1-D search,
 * I∞ and a by linear least squares at each τ). Its uncertainty is the linear fit's at the best τ, AR(1)-inflated;
 * the uncertainty of τ itself is not propagated (it is small when the hold lasts several τ).
 */
import type { ChannelRecord } from "../equipment/channel.ts";
import { ar1Inflation, FitError, linearLeastSquares, type LinearFit } from "../fitting/least-squares.ts";
import { ImprintError, type Measured } from "./measured.ts";
import { slopeWithError } from "./ocv.ts";

const SECONDS_PER_DAY = 86400;

export interface KValue {
  /** positive when the OCV falls */
  kValueMvPerDay: Measured;
  /** fitted window, from the start of the rest [s] */
  fitStartS: number;
  fitEndS: number;
  samples: number;
}

export function kValue(records: readonly ChannelRecord[], excludeFirstS = 7200, what = "k-value"): KValue {
  if (records.length === 0) throw new ImprintError(`${what}: no rest records`);
  const t0 = records[0].testTimeS;
  const used = records.filter((r) => r.testTimeS - t0 >= excludeFirstS);
  if (used.length < 10) throw new ImprintError(`${what}: ${used.length} records after the first ${excludeFirstS} s of the rest; need ≥ 10`);
  const timeS = used.map((r) => r.testTimeS - t0);
  const voltageV = used.map((r) => r.voltageV);
  const fit = slopeWithError(timeS, voltageV);
  const residuals = voltageV.map((v, i) => v - (fit.intercept + fit.slopePerS * timeS[i]));
  const inflation = Math.sqrt(ar1Inflation(residuals));
  return {
    kValueMvPerDay: { value: -fit.slopePerS * 1000 * SECONDS_PER_DAY, uncertainty: fit.slopeSePerS * 1000 * SECONDS_PER_DAY * inflation },
    fitStartS: timeS[0],
    fitEndS: timeS[timeS.length - 1],
    samples: used.length,
  };
}

export interface HoldCurrent {
  /** asymptotic current supplied to hold the OCV; positive = charge = the cell leaks */
  holdCurrentMicroA: Measured;
  timeConstantS: number;
  /** mean current over the last quarter of the hold, for comparison (still biased by the decaying term) [µA] */
  tailMeanMicroA: number;
  durationS: number;
}

export function holdCurrent(records: readonly ChannelRecord[], what = "hold current"): HoldCurrent {
  if (records.length < 10) throw new ImprintError(`${what}: ${records.length} records; need ≥ 10`);
  const t0 = records[0].testTimeS;
  const timeS = records.map((r) => r.testTimeS - t0);
  const currentA = records.map((r) => r.currentA);
  const durationS = timeS[timeS.length - 1];
  if (!(durationS > 0)) throw new ImprintError(`${what}: the hold has no duration`);
  const ones = timeS.map(() => 1);
  const fitAt = (tauS: number): LinearFit | null => {
    try {
      return linearLeastSquares([ones, timeS.map((t) => Math.exp(-t / tauS))], currentA);
    } catch (e) {
      if (e instanceof FitError) return null;
      throw e;
    }
  };
  // Log grid over τ from a few samples' spacing to the hold length, then golden-section refinement in log τ.
  const lo = Math.log(Math.max(durationS / timeS.length, 1));
  const hi = Math.log(durationS);
  let bestLog = lo;
  let bestRss = Infinity;
  for (let k = 0; k <= 40; k++) {
    const x = lo + ((hi - lo) * k) / 40;
    const rss = fitAt(Math.exp(x))?.rss ?? Infinity;
    if (rss < bestRss) [bestLog, bestRss] = [x, rss];
  }
  const g = (Math.sqrt(5) - 1) / 2;
  let a = Math.max(lo, bestLog - (hi - lo) / 40);
  let b = Math.min(hi, bestLog + (hi - lo) / 40);
  for (let i = 0; i < 40; i++) {
    const c = b - g * (b - a);
    const d = a + g * (b - a);
    if ((fitAt(Math.exp(c))?.rss ?? Infinity) < (fitAt(Math.exp(d))?.rss ?? Infinity)) b = d;
    else a = c;
  }
  const tauS = Math.exp((a + b) / 2);
  const fit = fitAt(tauS);
  if (!fit) throw new ImprintError(`${what}: the decay I∞ + a·e^(−t/τ) could not be fitted`);
  const sigma2 = fit.rss / fit.dof;
  const u = Math.sqrt(sigma2 * fit.unscaledCovariance[0][0] * ar1Inflation(fit.residuals));
  const tail = currentA.filter((_, i) => timeS[i] >= 0.75 * durationS);
  return {
    holdCurrentMicroA: { value: fit.coefficients[0] * 1e6, uncertainty: u * 1e6 },
    timeConstantS: tauS,
    tailMeanMicroA: (tail.reduce((s, x) => s + x, 0) / tail.length) * 1e6,
    durationS,
  };
}
