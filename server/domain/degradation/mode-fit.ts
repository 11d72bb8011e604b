/**
 * Degradation modes LLI, LAM_NE, LAM_PE (Dubarry et al., J. Power Sources 219 (2012) 204) from an aged cell's
 * measured equilibrium data, by fitting the chemistry's half-cell model through electrodeBalance():
 * - OCV against charge removed since the full charge: the pseudo-OCV of a low-rate (C/20) discharge, whose
 *   overpotential is fitted as one constant (the IR and diffusion drop at C/20 vary little away from the ends),
 *   and the relaxed OCVs V∞ the entropy estimator returns at each SOC point (no overpotential);
 * - the entropy profile dU/dT at the same points: the electrode dU/dT peaks move with the stoichiometry windows,
 *   which separates LAM_NE from LLI where the OCV alone is flat (Osswald et al. 2015; Hudak/Dubarry on entropy).
 * The fresh capacity is not fitted: the OCV depends only on the two electrode capacities and the lithium
 * inventory (three numbers), so a fresh-capacity scale would be exactly degenerate with the three modes. It comes
 * from the imprint (this cell's own) or the rated capacity; a 1 % error there shifts the modes by about 1 pp.
 * Nonlinear least squares by bounded Levenberg–Marquardt from several starts; uncertainties σ²(JᵀJ)⁻¹ scaled by
 * the reduced χ² and by the AR(1) factor of the residuals (a model mismatch leaves correlated residuals).
 */
import type { Chemistry } from "../chemistry/chemistry.ts";
import { dudtAtSoc, electrodeBalance, ocvAtSoc, type ElectrodeBalance } from "../chemistry/electrode-balance.ts";
import type { Measured } from "../imprint/measured.ts";
import { ar1Inflation, levenbergMarquardt, type NonlinearFit } from "../fitting/least-squares.ts";

export interface OcvPoint {
  /** charge removed since the full charge [Ah] */
  dischargedAh: number;
  voltageV: number;
  temperatureC: number;
  /** standard uncertainty [V] */
  sigmaV: number;
  /** measured under the low-rate discharge current (carries the fitted overpotential) or relaxed */
  loaded: boolean;
}

export interface DudtPoint {
  dischargedAh: number;
  dudtMvPerK: number;
  sigmaMvPerK: number;
}

export interface ModeFitInput {
  chemistry: Chemistry;
  freshCapacityAh: number;
  ocv: readonly OcvPoint[];
  dudt?: readonly DudtPoint[];
}

export interface ModeFit {
  lli: Measured;
  lamNe: Measured;
  lamPe: Measured;
  /** charge between the full-charge state (OCV at the upper limit) and the start of the curve [Ah] */
  startOffsetAh: Measured;
  /** constant overpotential of the loaded points [V] */
  overpotentialV: Measured;
  /**
   * equilibrium capacity of the fitted balance [Ah]: the charge between the OCV limits, free of the rate's
   * overpotential and of a full charge that stopped short of the upper limit; σ from the parameter covariance
   */
  capacityAh: Measured;
  balance: ElectrodeBalance;
  ocvResidualRmsMv: number;
  dudtResidualRmsMvPerK: number | null;
  /** fitted curves for plots, at the measured points */
  ocvCurve: { dischargedAh: number; measuredV: number; fittedV: number }[];
  dudtCurve: { dischargedAh: number; measuredMvPerK: number; fittedMvPerK: number }[];
}

export class ModeFitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModeFitError";
  }
}

const MODE_UPPER = 0.6;
/** Residual given to parameters that leave no cyclable window: far worse than any fit, finite for LM. */
const INFEASIBLE_RESIDUAL = 1e3;
const STARTS: ReadonlyArray<[number, number, number]> = [0.05, 0.2, 0.35].flatMap((lli) =>
  [0.02, 0.15].flatMap((lamNe) => [0.02, 0.15].map((lamPe): [number, number, number] => [lli, lamNe, lamPe])),
);

export function fitDegradationModes(input: ModeFitInput): ModeFit {
  const { chemistry: chem, freshCapacityAh, ocv } = input;
  const dudt = input.dudt ?? [];
  if (ocv.length < 8) throw new ModeFitError(`mode fit: ${ocv.length} OCV points; need ≥ 8`);
  const anyLoaded = ocv.some((p) => p.loaded);

  const balanceOf = (p: readonly number[]): ElectrodeBalance | null => {
    try {
      return electrodeBalance(chem, freshCapacityAh, { lli: p[0], lamNe: p[1], lamPe: p[2], resistanceGrowth: 0 });
    } catch {
      return null;
    }
  };
  const socOf = (bal: ElectrodeBalance, dischargedAh: number, startOffsetAh: number) => 1 - (dischargedAh + startOffsetAh) / bal.capacityAh;
  const modelOcv = (bal: ElectrodeBalance, p: readonly number[], pt: OcvPoint) =>
    ocvAtSoc(chem, bal, socOf(bal, pt.dischargedAh, p[3]), pt.temperatureC) - (pt.loaded ? p[4] : 0);
  const modelDudt = (bal: ElectrodeBalance, p: readonly number[], pt: DudtPoint) => dudtAtSoc(chem, bal, socOf(bal, pt.dischargedAh, p[3]));
  const residual = (p: number[]): number[] => {
    const bal = balanceOf(p);
    if (!bal) return new Array<number>(ocv.length + dudt.length).fill(INFEASIBLE_RESIDUAL);
    return [
      ...ocv.map((pt) => (modelOcv(bal, p, pt) - pt.voltageV) / pt.sigmaV),
      ...dudt.map((pt) => (modelDudt(bal, p, pt) - pt.dudtMvPerK) / pt.sigmaMvPerK),
    ];
  };

  // Parameters: lli, lamNe, lamPe, startOffsetAh, and the overpotential only when some points are loaded.
  // The offset's range is asymmetric. A full charge can stop a little short of the equilibrium 100 % (positive
  // offset), but where the negative electrode saturates below the upper OCV limit (heavy LAM_NE, little LLI: the
  // plating-risk pattern) a charge to the voltage limit pushes on past x = 1 — by ≈ 11 % of the fresh capacity on
  // simulated cells with LAM_NE 27 %. A bound inside that overshoot pins the offset and the fit pays for it with
  // LAM_NE (≈ 1.4 pp), i.e. with the capacity, which then hangs on the negative electrode's size alone.
  const offsetRangeAh = { below: 0.3 * freshCapacityAh, above: 0.1 * freshCapacityAh };
  const nParams = anyLoaded ? 5 : 4;
  const full = (q: number[]) => (anyLoaded ? q : [...q, 0]);
  const options = {
    lower: [0, 0, 0, -offsetRangeAh.below, -0.05].slice(0, nParams),
    upper: [MODE_UPPER, MODE_UPPER, MODE_UPPER, offsetRangeAh.above, 0.2].slice(0, nParams),
    step: [1e-5, 1e-5, 1e-5, 1e-5 * freshCapacityAh, 1e-6].slice(0, nParams),
    maxIterations: 100,
  };
  let best: NonlinearFit | null = null;
  for (const start of STARTS) {
    const fit = levenbergMarquardt((q) => residual(full(q)), [...start, 0, 0.01].slice(0, nParams), options);
    if (!best || fit.rss < best.rss) best = fit;
  }
  if (!best) throw new ModeFitError("mode fit: no start converged");
  const fit = best;
  const p = full(fit.parameters);
  const bal = balanceOf(p);
  if (!bal) throw new ModeFitError(`mode fit: the best fit (${p.map((v) => v.toFixed(3)).join(", ")}) has no cyclable window`);
  // The solver's covariance is (JᵀJ)⁻¹·χ²_red; keep χ²_red only where it exceeds 1 (scatter beyond the stated σ).
  const reducedChi2 = fit.dof > 0 ? fit.rss / fit.dof : 1;
  const inflation = ar1Inflation(fit.residuals.slice(0, ocv.length));
  const sigmaOf = (j: number): number => {
    if (j >= nParams) return 0;
    if (!fit.covariance) return Number.POSITIVE_INFINITY;
    return Math.sqrt((fit.covariance[j][j] / reducedChi2) * Math.max(1, reducedChi2) * inflation);
  };
  // σ of the capacity: gradient of capacityAh(p) by forward differences, gᵀ·Cov·g over the mode parameters.
  const capacityGradient = [0, 1, 2].map((j) => {
    const q = p.slice();
    q[j] += 1e-5;
    const shifted = balanceOf(q) ?? balanceOf(p.map((v, k) => (k === j ? v - 1e-5 : v)));
    return shifted ? ((shifted.capacityAh - bal.capacityAh) / 1e-5) * (balanceOf(q) ? 1 : -1) : 0;
  });
  let capacityVariance = 0;
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) capacityVariance += capacityGradient[a] * capacityGradient[b] * (fit.covariance ? fit.covariance[a][b] : Infinity);
  capacityVariance *= (Math.max(1, reducedChi2) / reducedChi2) * inflation;
  const ocvCurve = ocv.map((pt) => ({ dischargedAh: pt.dischargedAh, measuredV: pt.voltageV, fittedV: modelOcv(bal, p, pt) }));
  const dudtCurve = dudt.map((pt) => ({ dischargedAh: pt.dischargedAh, measuredMvPerK: pt.dudtMvPerK, fittedMvPerK: modelDudt(bal, p, pt) }));
  const rms = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length);
  return {
    lli: { value: p[0], uncertainty: sigmaOf(0) },
    lamNe: { value: p[1], uncertainty: sigmaOf(1) },
    lamPe: { value: p[2], uncertainty: sigmaOf(2) },
    startOffsetAh: { value: p[3], uncertainty: sigmaOf(3) },
    overpotentialV: { value: p[4], uncertainty: sigmaOf(4) },
    capacityAh: { value: bal.capacityAh, uncertainty: Math.sqrt(capacityVariance) },
    balance: bal,
    ocvResidualRmsMv: rms(ocvCurve.map((c) => c.fittedV - c.measuredV)) * 1000,
    dudtResidualRmsMvPerK: dudtCurve.length ? rms(dudtCurve.map((c) => c.fittedMvPerK - c.measuredMvPerK)) : null,
    ocvCurve,
    dudtCurve,
  };
}
