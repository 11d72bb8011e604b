/**
 * Empirical calendar + cycle ageing model of a Kokam 75 Ah NMC111/graphite pouch cell, as published in
 * NREL BLAST-Lite: blast/models/nmc111_gr_Kokam75Ah_2017.py (class Nmc111_Gr_Kokam75Ah_Battery, P. Gasper,
 * github.com/NREL/BLAST-Lite, file version 039b74dc), with stressor extraction from
 * blast/models/degradation_model.py as of BLAST-Lite 1.1.0 (github.com/NatLabRockies/BLAST-Lite, file version
 * 3185c25b): the day's throughput counts in nominal equivalent full cycles, i.e. Σ|ΔSOC|/2 × the current
 * relative capacity ("EFC is in units of amp*hours per amp*hours nominal ... so rescale by current health").
 * Checked against outputs of the unmodified BLAST-Lite 1.1.0 in test/domain/ageing/kokam-blast-parity.test.ts.
 * Underlying paper: K. Smith et al., "Life prediction model for
 * grid-connected Li-ion battery energy storage system", ACC 2017, https://ieeexplore.ieee.org/document/7963578.
 *
 * Capacity: q = min(1 − qLLI,t − qLLI,EFC, 1.01 − qLAM) with
 *   qLLI,t   = q1·t^q2            (calendar, t in days),   q1 = q1_0·exp(q1_1/T̃)·exp(q1_2·Ũa/T̃)
 *   qLLI,EFC = q3·EFC^q4          (cycling),               q3 = q3_0·exp(q3_1/T̃)·exp(q3_2·exp(DOD²))
 *   qLAM     = sigmoid(EFC; y∞ = 1, k = 1/q5, p = p_LAM),  q5 = q5_0 + q5_1·(T − 55 °C)·DOD·(mean SOC / 0.6)
 *   T̃ = T / 308.15 K, Ũa = Ua / 0.123 V (graphite potential vs Li from SOC, Safari & Delacourt 2011).
 * Resistance: r = max(1 + rLLI,t + rLLI,EFC, r5 + r6/qLAM) with rLLI,t = r1·q1·t^r2, rLLI,EFC = r3·q3·EFC^r4.
 * Validity (from the file): 0–45 °C cycling, DOD 0.8–1, ≤ 1 C. The model has NO C-rate dependence.
 */
import { timeAverage, updatePowerState, updateSigmoidState } from "./state-functions.ts";

export const KOKAM_NMC111_MODEL = {
  name: "NREL BLAST-Lite Nmc111_Gr_Kokam75Ah_Battery",
  citation:
    "NREL BLAST-Lite 1.1.0, blast/models/nmc111_gr_Kokam75Ah_2017.py and degradation_model.py (github.com/NREL/BLAST-Lite); Smith et al., ACC 2017, doi:10.23919/ACC.2017.7963578",
  /** published parameters, unchanged */
  params: {
    q1_0: 2.66e7, q1_1: -17.8, q1_2: -5.21, q2: 0.357,
    q3_0: 3.8e3, q3_1: -18.4, q3_2: 1.04, q4: 0.778,
    q5_0: 1e4, q5_1: 153, p_LAM: 10,
    r1: 0.057, r2: 1.25, r3: 4.87, r4: 0.712, r5: -0.08, r6: 1.09,
  },
} as const;

/** One repeating stretch of use: time [s], SOC (0..1) and temperature [°C], sampled together. */
export interface UsageProfile {
  timeS: readonly number[];
  soc: readonly number[];
  temperatureC: readonly number[];
}

export interface KokamStressors {
  deltaTDays: number;
  /** Σ|ΔSOC| / 2 of the profile (SOC-based; stepKokam converts it to nominal EFC with the current capacity) */
  deltaEfc: number;
  /** max SOC − min SOC */
  dod: number;
  meanSoc: number;
}

export interface KokamRates { q1: number; q3: number; q5: number }

export interface KokamState {
  qLossLliT: number;
  qLossLliEfc: number;
  qLossLam: number;
  rGainLliT: number;
  rGainLliEfc: number;
}

/** BLAST-Lite starts qLoss_LAM at 1e-8 so the sigmoid state function has a defined slope. */
export const KOKAM_FRESH_STATE: KokamState = Object.freeze({ qLossLliT: 0, qLossLliEfc: 0, qLossLam: 1e-8, rGainLliT: 0, rGainLliEfc: 0 });

export interface KokamOutputs {
  /** relative capacity (1 = fresh) */
  q: number;
  qLli: number;
  qLam: number;
  /** relative resistance (1 = fresh) */
  r: number;
}

/**
 * Graphite potential vs Li/Li+ [V] from SOC (0..1): Safari & Delacourt, J. Electrochem. Soc. 158 (2011) A562,
 * lithiation fraction after Schimpe et al. 2018 — as in BatteryDegradationModel._get_Ua.
 */
export function anodePotentialV(soc: number): number {
  const x = 8.5e-3 + soc * (0.78 - 8.5e-3);
  return (
    0.6379 + 0.5416 * Math.exp(-305.5309 * x) + 0.044 * Math.tanh(-(x - 0.1958) / 0.1088) -
    0.1978 * Math.tanh((x - 1.0571) / 0.0854) - 0.6875 * Math.tanh((x + 0.0117) / 0.0529) -
    0.0175 * Math.tanh((x - 0.5692) / 0.0875)
  );
}

export function kokamStressors(profile: UsageProfile): KokamStressors {
  const { timeS, soc } = profile;
  let throughput = 0;
  for (let i = 1; i < soc.length; i++) throughput += Math.abs(soc[i] - soc[i - 1]);
  return {
    deltaTDays: (timeS[timeS.length - 1] - timeS[0]) / 86_400,
    deltaEfc: throughput / 2,
    dod: Math.max(...soc) - Math.min(...soc),
    // numpy.mean over samples, as the published model does (time-weighted only on a uniform grid).
    meanSoc: soc.reduce((a, b) => a + b, 0) / soc.length,
  };
}

/** Degradation rates of Nmc111_Gr_Kokam75Ah_Battery.update_rates, time-averaged over the profile. */
export function kokamRates(profile: UsageProfile, stressors: KokamStressors = kokamStressors(profile)): KokamRates {
  const p = KOKAM_NMC111_MODEL.params;
  const { dod, meanSoc } = stressors;
  const q1 = profile.temperatureC.map((tC, i) => {
    const tN = (tC + 273.15) / (273.15 + 35);
    const uaN = anodePotentialV(profile.soc[i]) / 0.123;
    return p.q1_0 * Math.exp(p.q1_1 * (1 / tN)) * Math.exp(p.q1_2 * (uaN / tN));
  });
  const q3 = profile.temperatureC.map((tC) => {
    const tN = (tC + 273.15) / (273.15 + 35);
    return p.q3_0 * Math.exp(p.q3_1 * (1 / tN)) * Math.exp(p.q3_2 * Math.exp(dod ** 2));
  });
  const q5 = profile.temperatureC.map((tC) => p.q5_0 + p.q5_1 * (tC - 55) * dod * (meanSoc / 0.6));
  return {
    q1: timeAverage(q1, profile.timeS),
    q3: timeAverage(q3, profile.timeS),
    q5: timeAverage(q5, profile.timeS),
  };
}

/** Nominal equivalent full cycles of one repetition of the profile at the state's capacity (BLAST-Lite 1.1.0 _extract_stressors). */
export function nominalEfc(state: KokamState, stressors: KokamStressors): number {
  return stressors.deltaEfc * kokamOutputs(state).q;
}

/** Advance the state by one repetition of the profile (update_states); degradationScalar as in BLAST-Lite. */
export function stepKokam(state: KokamState, rates: KokamRates, stressors: KokamStressors, degradationScalar = 1): KokamState {
  const p = KOKAM_NMC111_MODEL.params;
  const dt = stressors.deltaTDays;
  const dEfc = nominalEfc(state, stressors);
  return {
    qLossLliT: state.qLossLliT + degradationScalar * updatePowerState(state.qLossLliT, dt, rates.q1, p.q2),
    qLossLliEfc: state.qLossLliEfc + degradationScalar * updatePowerState(state.qLossLliEfc, dEfc, rates.q3, p.q4),
    qLossLam: state.qLossLam + degradationScalar * updateSigmoidState(state.qLossLam, dEfc, 1, 1 / rates.q5, p.p_LAM),
    rGainLliT: state.rGainLliT + degradationScalar * updatePowerState(state.rGainLliT, dt, p.r1 * rates.q1, p.r2),
    rGainLliEfc: state.rGainLliEfc + degradationScalar * updatePowerState(state.rGainLliEfc, dEfc, p.r3 * rates.q3, p.r4),
  };
}

export function kokamOutputs(state: KokamState): KokamOutputs {
  const p = KOKAM_NMC111_MODEL.params;
  const qLli = 1 - state.qLossLliT - state.qLossLliEfc;
  const qLam = 1.01 - state.qLossLam;
  const rLli = 1 + state.rGainLliT + state.rGainLliEfc;
  const rLam = p.r5 + p.r6 * (1 / qLam);
  return { q: Math.min(qLli, qLam), qLli, qLam, r: Math.max(rLli, rLam) };
}
