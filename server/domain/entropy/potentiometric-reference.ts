/**
 * Classic potentiometric dU/dT (the reference the fast method is judged against): at one SOC, step the chamber
 * through temperature plateaus (e.g. 25 → 15 → 25 → 35 °C), wait at each until the cell is relaxed — |dV/dt| and
 * |dT/dt| below thresholds — and regress the relaxed OCV on the cell temperature (Thomas & Newman 2003;
 * Osswald et al., J. Electrochem. Soc. 162 (2015) A2036, who also correct the residual OCV drift with a
 * linear term in time, which the repeated 25 °C plateau makes identifiable).
 */
import { linearLeastSquares } from "../fitting/least-squares.ts";
import { EntropyError, mean, withEntropy, type DudtEstimate, type RelaxationTrace } from "./dudt.ts";

export interface PotentiometricOptions {
  /** length of the window over which relaxation is judged and the plateau value averaged [s]; default 1800 */
  windowS?: number;
  /** relaxed when |dV/dt| over the window is below this [mV/h]; default 0.5 */
  maxDvdtMvPerH?: number;
  /** relaxed when |dT/dt| over the window is below this [K/h]; default 0.1 */
  maxDtdtKPerH?: number;
  /** plateaus closer than this in temperature and adjacent in time are one plateau [K]; default 2 */
  plateauSeparationK?: number;
  /**
   * time constant of the slow OCV relaxation still in progress at a plateau [s]; default 3600. The voltage still
   * to come is ≈ |dV/dt|·τ, added to each plateau's uncertainty (a Type B term: a linear drift correction cannot
   * remove the curvature of an exponential).
   */
  slowRelaxationTauS?: number;
  /** temperature at which the intercept is reported [°C]; default: mean of the plateau temperatures */
  referenceTemperatureC?: number;
}

export interface RelaxedPlateau {
  endTimeS: number;
  voltageV: number;
  temperatureC: number;
  /** standard error of the plateau voltage [V]: noise of the window mean ⊕ the relaxation still to come */
  voltageSigmaV: number;
}

function slopeAndMean(t: readonly number[], v: readonly number[]): { slopePerS: number; mean: number; residualSigma: number } {
  const fit = linearLeastSquares([t.map(() => 1), t.map((x) => x - t[0])], v);
  return { slopePerS: fit.coefficients[1], mean: mean(v), residualSigma: Math.sqrt(fit.rss / Math.max(1, fit.dof)) };
}

/** The relaxed plateaus of a rest trace: for each run of relaxed windows, the last window of the run. */
export function findRelaxedPlateaus(trace: RelaxationTrace, what: string, options: PotentiometricOptions = {}): RelaxedPlateau[] {
  const windowS = options.windowS ?? 1800;
  const maxDvdt = (options.maxDvdtMvPerH ?? 0.5) / 1000 / 3600;
  const maxDtdt = (options.maxDtdtKPerH ?? 0.1) / 3600;
  const separationK = options.plateauSeparationK ?? 2;
  const slowTauS = options.slowRelaxationTauS ?? 3600;
  const { timeS, voltageV, temperatureC } = trace;
  const plateaus: RelaxedPlateau[] = [];
  let runOpen = false;
  let lo = 0;
  for (let i = 0; i < timeS.length; i++) {
    while (timeS[lo] < timeS[i] - windowS) lo++;
    const full = timeS[i] - timeS[0] >= windowS && i - lo >= 10;
    let relaxed = false;
    let candidate: RelaxedPlateau | null = null;
    if (full) {
      const t = timeS.slice(lo, i + 1);
      const v = slopeAndMean(t, voltageV.slice(lo, i + 1));
      const c = slopeAndMean(t, temperatureC.slice(lo, i + 1));
      relaxed = Math.abs(v.slopePerS) < maxDvdt && Math.abs(c.slopePerS) < maxDtdt;
      candidate = { endTimeS: timeS[i], voltageV: v.mean, temperatureC: c.mean, voltageSigmaV: Math.hypot(v.residualSigma / Math.sqrt(t.length), v.slopePerS * slowTauS) };
    }
    if (relaxed && candidate) {
      const previous = plateaus[plateaus.length - 1];
      const sameAsPrevious = previous && Math.abs(previous.temperatureC - candidate.temperatureC) < separationK;
      if (runOpen || sameAsPrevious) plateaus[plateaus.length - 1] = candidate;
      else plateaus.push(candidate);
    }
    runOpen = relaxed;
  }
  if (plateaus.length < 2) throw new EntropyError(`${what}: found ${plateaus.length} relaxed temperature plateau(s); need ≥ 2`);
  return plateaus;
}

/**
 * dU/dT from the relaxed plateaus: weighted regression V = V₀ + (dU/dT)(T − T₀) [+ γ·t when ≥ 4 plateaus].
 * The uncertainty is the regression's, scaled by the reduced χ² when the scatter exceeds the plateau noise.
 */
export function estimateDudtPotentiometric(trace: RelaxationTrace, what: string, options: PotentiometricOptions = {}): DudtEstimate {
  const plateaus = findRelaxedPlateaus(trace, what, options);
  const temps = plateaus.map((p) => p.temperatureC);
  const swingK = Math.max(...temps) - Math.min(...temps);
  if (swingK < 2) throw new EntropyError(`${what}: relaxed plateaus span only ${swingK.toFixed(2)} K; need ≥ 2 K`);
  const t0C = options.referenceTemperatureC ?? mean(temps);
  const columns = [plateaus.map(() => 1), temps.map((c) => c - t0C)];
  if (plateaus.length >= 4) columns.push(plateaus.map((p) => (p.endTimeS - plateaus[0].endTimeS) / 3600));
  // A floor of 10 µV per plateau keeps noise-free synthetic traces from getting infinite weight.
  const weights = plateaus.map((p) => 1 / Math.max(p.voltageSigmaV, 1e-5) ** 2);
  const fit = linearLeastSquares(columns, plateaus.map((p) => p.voltageV), weights);
  const chi2Red = fit.dof > 0 ? fit.rss / fit.dof : 1;
  const sigmaVPerK = Math.sqrt(fit.unscaledCovariance[1][1] * Math.max(1, chi2Red));
  const residualRmsV = Math.sqrt(mean(fit.residuals.map((r) => r * r)));
  return withEntropy({
    method: "potentiometric",
    dudtMvPerK: fit.coefficients[1] * 1000,
    dudtUncertaintyMvPerK: sigmaVPerK * 1000,
    relaxedOcvV: fit.coefficients[0],
    referenceTemperatureC: t0C,
    residualRmsMv: residualRmsV * 1000,
    temperatureSwingK: swingK,
    durationS: trace.timeS[trace.timeS.length - 1] - trace.timeS[0],
  });
}
