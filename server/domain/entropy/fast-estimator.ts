/**
 * Fast dU/dT: estimate the entropic coefficient while the cell is still relaxing (DESIGN §7).
 *
 * Model of the rest voltage after the SOC-setting current (t from the start of the rest):
 *   V(t) = V∞ + a₁·e^(−t/τ₁) + a₂·e^(−t/τ₂) + (dU/dT)·(T_cell(t) − T₀)
 * The two exponentials are the OCV relaxation (diffusion / the ~1 h RC pair, and a faster one); T_cell is the
 * RECORDED cell temperature, so the thermal lag between chamber and cell is in the data, not in the model.
 * For fixed (τ₁, τ₂) the model is linear in (V∞, a₁, a₂, dU/dT): variable projection (Golub & Pereyra 1973) —
 * a log grid over τ₁, τ₂ then a shrinking coordinate search, a QR least-squares fit at each point.
 *
 * Identifiability: a single temperature step gives a cell response (1 − e^(−t/τ_th)) that an exponential drift
 * mimics; the recipe therefore alternates the chamber (e.g. 25 → 30 → 20 → 30 → 20 → 25 °C, 20 min holds), so
 * the temperature regressor oscillates while the drift decays monotonically.
 *
 * Error budget (σ_V = 0.1 mV voltage noise, σ_T = 0.1 K temperature noise, 10 s logging, 2 h rest):
 * - the slope's noise floor is σ_V / (√N · s_T) with N = 720 samples and s_T ≈ 1.5 K RMS cell swing (±5 K chamber
 *   square wave through a ~20–30 min thermal lag): 0.1 / (26.8 · 1.5) ≈ 0.0025 mV/K; the drift terms share some
 *   variance with the temperature regressor (×1.5–2) → ≈ 0.005 mV/K;
 * - temperature noise attenuates the slope by s_T² / (s_T² + σ_T²) (errors in variables): 0.4 % unsmoothed, 0.03 %
 *   after the ±60 s centred average (13 samples). A wider average would flatten the cell temperature where it turns
 *   (after each chamber switch) and bias the slope the other way: ±150 s already costs ≈ 3 %;
 * - voltage resolution (0.1 mV steps) adds a uniform quantisation σ of 0.03 mV, inside σ_V.
 * Total ≈ 0.005–0.008 mV/K (1σ), so the ±0.02 mV/K target is met at ≈ 3σ. Residual correlation (model mismatch)
 * is accounted for by inflating σ with the AR(1) factor √((1+ρ)/(1−ρ)) of the residuals.
 */
import { FitError, ar1Inflation, linearLeastSquares, type LinearFit } from "../fitting/least-squares.ts";
/** Kept exported here too: imprint/self-discharge.ts imports it from this module (it now lives in fitting/). */
export { ar1Inflation } from "../fitting/least-squares.ts";
import { EntropyError, centredMovingAverage, mean, withEntropy, type DudtEstimate, type RelaxationTrace } from "./dudt.ts";

export interface FastEstimatorOptions {
  /** ignore the start of the rest, dominated by the fast (seconds to minutes) relaxation [s]; default 300 */
  skipS?: number;
  /** half-width of the centred average applied to the recorded cell temperature [s]; default 60 */
  temperatureSmoothingS?: number;
  /** search range of the short drift time constant [s]; default 120–1800 */
  shortTauRangeS?: readonly [number, number];
  /** search range of the long drift time constant [s]; default 1800–36000 (the ~1 h relaxation) */
  longTauRangeS?: readonly [number, number];
  /** temperature at which V∞ is reported [°C]; default: mean cell temperature of the fitted window */
  referenceTemperatureC?: number;
  /** below this peak-to-peak cell temperature swing the slope is not determined [K]; default 1 */
  minTemperatureSwingK?: number;
}

const GRID_POINTS = 10;

export function estimateDudtFast(trace: RelaxationTrace, what: string, options: FastEstimatorOptions = {}): DudtEstimate {
  const skipS = options.skipS ?? 300;
  const [s0, s1] = options.shortTauRangeS ?? [120, 1800];
  const [l0, l1] = options.longTauRangeS ?? [1800, 36000];
  const keep = trace.timeS.map((t, i) => i).filter((i) => trace.timeS[i] >= skipS);
  if (keep.length < 30) throw new EntropyError(`${what}: ${keep.length} samples after the first ${skipS} s of rest; need ≥ 30`);
  const timeS = keep.map((i) => trace.timeS[i]);
  const voltageV = keep.map((i) => trace.voltageV[i]);
  const smoothedC = centredMovingAverage(trace.timeS, trace.temperatureC, options.temperatureSmoothingS ?? 60);
  const temperatureC = keep.map((i) => smoothedC[i]);
  const swingK = Math.max(...temperatureC) - Math.min(...temperatureC);
  const minSwingK = options.minTemperatureSwingK ?? 1;
  if (swingK < minSwingK) {
    throw new EntropyError(`${what}: cell temperature swung only ${swingK.toFixed(2)} K during the rest; need ≥ ${minSwingK} K to determine dU/dT`);
  }
  const t0C = options.referenceTemperatureC ?? mean(temperatureC);
  const ones = timeS.map(() => 1);
  const dT = temperatureC.map((c) => c - t0C);
  const tStart = timeS[0];

  const fitAt = (tauShortS: number, tauLongS: number): LinearFit | null => {
    try {
      return linearLeastSquares(
        [ones, timeS.map((t) => Math.exp(-(t - tStart) / tauShortS)), timeS.map((t) => Math.exp(-(t - tStart) / tauLongS)), dT],
        voltageV,
      );
    } catch (e) {
      if (e instanceof FitError) return null;
      throw e;
    }
  };

  const logGrid = (a: number, b: number) => Array.from({ length: GRID_POINTS }, (_, k) => a * (b / a) ** (k / (GRID_POINTS - 1)));
  let best = { tauShortS: s0, tauLongS: l0, fit: null as LinearFit | null };
  const consider = (tauShortS: number, tauLongS: number) => {
    const ts = Math.min(s1, Math.max(s0, tauShortS));
    const tl = Math.min(l1, Math.max(l0, tauLongS));
    const fit = fitAt(ts, tl);
    if (fit && (!best.fit || fit.rss < best.fit.rss)) best = { tauShortS: ts, tauLongS: tl, fit };
  };
  for (const ts of logGrid(s0, s1)) for (const tl of logGrid(l0, l1)) consider(ts, tl);
  // Coordinate refinement in log τ; the factor shrinks towards 1 (the grid spacing is (b/a)^(1/9) ≈ 1.35–1.4).
  for (let factor = 1.2; factor > 1.005; factor = Math.sqrt(factor)) {
    for (let pass = 0; pass < 3; pass++) {
      const { tauShortS, tauLongS } = best;
      consider(tauShortS * factor, tauLongS);
      consider(tauShortS / factor, tauLongS);
      consider(best.tauShortS, tauLongS * factor);
      consider(best.tauShortS, tauLongS / factor);
    }
  }
  const fit = best.fit;
  if (!fit) throw new EntropyError(`${what}: the relaxation model could not be fitted (drift and temperature regressors are collinear)`);
  const sigma2 = fit.rss / fit.dof;
  const inflation = Math.sqrt(ar1Inflation(fit.residuals));
  const dudtUncertaintyVPerK = Math.sqrt(sigma2 * fit.unscaledCovariance[3][3]) * inflation;
  return withEntropy({
    method: "fast-relaxation-fit",
    dudtMvPerK: fit.coefficients[3] * 1000,
    dudtUncertaintyMvPerK: dudtUncertaintyVPerK * 1000,
    relaxedOcvV: fit.coefficients[0],
    referenceTemperatureC: t0C,
    residualRmsMv: Math.sqrt(fit.rss / timeS.length) * 1000,
    temperatureSwingK: swingK,
    durationS: trace.timeS[trace.timeS.length - 1] - trace.timeS[0],
  });
}
