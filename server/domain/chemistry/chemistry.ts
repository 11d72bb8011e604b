/**
 * A cell chemistry as the half-cell model sees it (DESIGN §5): electrode open-circuit potentials and their
 * entropic coefficients as functions of stoichiometry, and the fresh cell's stoichiometry windows.
 * Used by the simulators (to make cells) and by the domain (to fit degradation modes) — one model, cited once.
 */
export type ChemistryId = "nmc811-graphite" | "lfp-graphite";

export interface Chemistry {
  id: ChemistryId;
  label: string;
  /** datasheet nominal capacity of the reference format [Ah] */
  nominalCapacityAh: number;
  /** full-cell voltage window [V] */
  minVoltageV: number;
  maxVoltageV: number;
  referenceTemperatureC: number;
  /** negative electrode OCP vs Li/Li+ [V] at stoichiometry x (0..1) */
  negOcpV(x: number): number;
  /** positive electrode OCP vs Li/Li+ [V] at stoichiometry y (0..1) */
  posOcpV(y: number): number;
  /** entropic coefficient dU/dT of the negative electrode [mV/K] */
  negDudtMvPerK(x: number): number;
  /** entropic coefficient dU/dT of the positive electrode [mV/K] */
  posDudtMvPerK(y: number): number;
  /** fresh-cell stoichiometry at 0 % and 100 % SOC */
  window: { neg0: number; neg100: number; pos0: number; pos100: number };
  /** half-width of the OCV hysteresis loop [V] as a function of SOC (0..1); 0 where the chemistry has none */
  hysteresisHalfWidthV(soc: number): number;
}

/**
 * Degradation modes after Dubarry et al. (2012): each a fraction (0..1) of the fresh cell's value.
 * LLI: cyclable lithium lost; LAM_NE / LAM_PE: active material lost on the negative / positive electrode;
 * resistanceGrowth: relative increase of every resistance (0.3 = +30 %).
 */
export interface AgeingState {
  lli: number;
  lamNe: number;
  lamPe: number;
  resistanceGrowth: number;
}

export const FRESH: AgeingState = Object.freeze({ lli: 0, lamNe: 0, lamPe: 0, resistanceGrowth: 0 });

/** Faraday constant [C/mol]. ΔS = n·F·dU/dT with n = 1: 0.1 mV/K ≈ 9.65 J/(mol·K). */
export const FARADAY_C_PER_MOL = 96485.33212;

export function entropyJPerMolK(dudtMvPerK: number): number {
  return FARADAY_C_PER_MOL * dudtMvPerK * 1e-3;
}
