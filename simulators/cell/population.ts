/**
 * Simulated cell populations (DESIGN §5), deterministic from a seed: new production lots with manufacturing
 * spread and rare defects, and second-life cells with hidden degradation modes. All figures are simulated.
 *
 * Format parameters below are representative values ASSUMED for the simulator (orders of magnitude of 21700 and
 * 26650 cells), not datasheet figures, except where a source is named.
 */
import type { AgeingState, ChemistryId } from "../../server/domain/chemistry/chemistry.ts";
import { electrodeBalance } from "../../server/domain/chemistry/electrode-balance.ts";
import { getChemistry } from "../../server/domain/chemistry/registry.ts";
import { createPrng, type Prng } from "./prng.ts";
import type { CellSpec } from "./sim-cell.ts";

/** Natural convection in still air, assumed h = 8 W/(m²·K) (typical 5–10 for free convection). */
const FREE_CONVECTION_W_PER_M2K = 8;

function cylinderAreaM2(diameterM: number, heightM: number): number {
  return Math.PI * diameterM * heightM + 2 * Math.PI * (diameterM / 2) ** 2;
}

type FormatParameters = Omit<
  CellSpec,
  "serial" | "chemistry" | "ageing" | "leakCurrentA" | "microShort" | "highResistance" | "initialSoc" | "initialTemperatureC"
>;

/**
 * Per chemistry: nominal capacity from the chemistry, resistances assumed, RC2 τ = 1 h for the slow OCV relaxation
 * (DESIGN §5), Ea = 25 kJ/mol assumed (middle of the 20–30 kJ/mol usually fitted to cell resistance), c_p assumed
 * 1000 J/(kg·K), mass ≈ the formats' datasheet masses (21700 ≈ 68 g, A123 26650 ≈ 76 g).
 * Thermal time constant m·c_p/hA: ≈ 27 min (21700) and ≈ 25 min (26650) in still air.
 */
export const CELL_FORMATS: Readonly<Record<ChemistryId, FormatParameters>> = Object.freeze({
  "nmc811-graphite": {
    freshCapacityAh: getChemistry("nmc811-graphite").nominalCapacityAh,
    r0Ohm: 0.02,
    r1Ohm: 0.008,
    tau1S: 30,
    r2Ohm: 0.006,
    tau2S: 3600,
    activationEnergyJPerMol: 25_000,
    massKg: 0.068,
    heatCapacityJPerKgK: 1000,
    hAWPerK: FREE_CONVECTION_W_PER_M2K * cylinderAreaM2(0.021, 0.07),
  },
  "lfp-graphite": {
    freshCapacityAh: getChemistry("lfp-graphite").nominalCapacityAh,
    r0Ohm: 0.01,
    r1Ohm: 0.004,
    tau1S: 30,
    r2Ohm: 0.003,
    tau2S: 3600,
    activationEnergyJPerMol: 25_000,
    massKg: 0.076,
    heatCapacityJPerKgK: 1000,
    hAWPerK: FREE_CONVECTION_W_PER_M2K * cylinderAreaM2(0.026, 0.065),
  },
});

/** Manufacturing spread (DESIGN §5): capacity σ 0.7 %, resistance σ 2.5 % (one factor for all resistances). */
const CAPACITY_SIGMA = 0.007;
const RESISTANCE_SIGMA = 0.025;
/** Leak current, lognormal: median 20 µA, σ_ln 0.4 — assumed (≈ 0.3 %/month on 5 Ah). */
const LEAK_MEDIAN_A = 20e-6;
const LEAK_SIGMA_LN = 0.4;
/** Micro-short leak, log-uniform 0.5–5 mA — assumed, 25–250× the median healthy leak. */
const MICRO_SHORT_LEAK_A: [number, number] = [0.5e-3, 5e-3];
/** High-resistance defect (e.g. poor weld, dry-out): every resistance ×1.3–1.8 — assumed. */
const HIGH_RESISTANCE_FACTOR: [number, number] = [1.3, 1.8];
/** Defaults when no rate is given — assumed, of the order of screening reject rates. */
const DEFAULT_MICRO_SHORT_RATE = 0.002;
const DEFAULT_HIGH_RESISTANCE_RATE = 0.005;
/** Cells leave the factory at ~30 % SOC, the IATA limit for shipping lithium-ion cells (UN 3480, PI 965). */
const SHIPPING_SOC = 0.3;
const ROOM_TEMPERATURE_C = 25;

export interface NewLotOptions {
  seed: number;
  count: number;
  chemistry: ChemistryId;
  serialPrefix: string;
  microShortRate?: number;
  highResistanceRate?: number;
  /** explicit defect indices (for tests); when given they replace the corresponding rate */
  microShortIndices?: number[];
  highResistanceIndices?: number[];
  initialSoc?: number;
}

function serialOf(prefix: string, index: number, count: number): string {
  return `${prefix}${String(index + 1).padStart(Math.max(4, String(count).length), "0")}`;
}

function logUniform(rng: Prng, [lo, hi]: [number, number]): number {
  return Math.exp(rng.between(Math.log(lo), Math.log(hi)));
}

function checkCount(what: string, count: number): void {
  if (!(Number.isInteger(count) && count >= 0)) throw new RangeError(`${what}: count must be an integer ≥ 0, got ${count}`);
}

function drawCell(
  rng: Prng,
  chemistry: ChemistryId,
  serial: string,
  ageing: AgeingState,
  defects: { microShort: boolean; highResistance: boolean },
  initialSoc: number,
): CellSpec {
  const format = CELL_FORMATS[chemistry];
  const capacityFactor = rng.normal(1, CAPACITY_SIGMA);
  const resistanceFactor =
    rng.normal(1, RESISTANCE_SIGMA) * (defects.highResistance ? rng.between(...HIGH_RESISTANCE_FACTOR) : 1);
  const leakCurrentA = defects.microShort
    ? logUniform(rng, MICRO_SHORT_LEAK_A)
    : LEAK_MEDIAN_A * Math.exp(rng.normal(0, LEAK_SIGMA_LN));
  return {
    ...format,
    serial,
    chemistry,
    freshCapacityAh: format.freshCapacityAh * capacityFactor,
    ageing,
    r0Ohm: format.r0Ohm * resistanceFactor,
    r1Ohm: format.r1Ohm * resistanceFactor,
    r2Ohm: format.r2Ohm * resistanceFactor,
    leakCurrentA,
    microShort: defects.microShort,
    highResistance: defects.highResistance,
    initialSoc,
    initialTemperatureC: ROOM_TEMPERATURE_C,
  };
}

function defectFlags(rng: Prng, count: number, rate: number, indices: number[] | undefined, what: string): boolean[] {
  if (indices !== undefined) {
    const flags = new Array<boolean>(count).fill(false);
    for (const i of indices) {
      if (!(Number.isInteger(i) && i >= 0 && i < count)) throw new RangeError(`${what}: index ${i} outside 0..${count - 1}`);
      flags[i] = true;
    }
    return flags;
  }
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`${what}: rate must be in [0, 1], got ${rate}`);
  return Array.from({ length: count }, () => rng.uniform() < rate);
}

/** A new production lot: manufacturing spread, healthy leak spread and rare defects. */
export function newLot(o: NewLotOptions): CellSpec[] {
  checkCount(`lot ${o.serialPrefix}`, o.count);
  const rng = createPrng(o.seed);
  const microShort = defectFlags(rng, o.count, o.microShortRate ?? DEFAULT_MICRO_SHORT_RATE, o.microShortIndices, "microShort");
  const highResistance = defectFlags(
    rng,
    o.count,
    o.highResistanceRate ?? DEFAULT_HIGH_RESISTANCE_RATE,
    o.highResistanceIndices,
    "highResistance",
  );
  const initialSoc = o.initialSoc ?? SHIPPING_SOC;
  return Array.from({ length: o.count }, (_, i) =>
    drawCell(
      rng,
      o.chemistry,
      serialOf(o.serialPrefix, i, o.count),
      { lli: 0, lamNe: 0, lamPe: 0, resistanceGrowth: 0 },
      { microShort: microShort[i], highResistance: highResistance[i] },
      initialSoc,
    ),
  );
}

export interface SecondLifeOptions {
  seed: number;
  count: number;
  chemistry: ChemistryId;
  serialPrefix: string;
  /** default [0.60, 0.95] */
  sohRange?: [number, number];
  /** cells (by index) given a micro-short, for safety-screen tests */
  microShortIndices?: number[];
}

/**
 * Degradation-mode bounds (fractions; LLI of the fresh capacity, LAM of the electrode's fresh capacity):
 * LAM_NE 0–30 %, LAM_PE 0–25 %, LLI 0–45 %. LLI goes beyond 35 % because a purely LLI-aged cell loses capacity
 * at only ~0.9× its LLI (NMC: the steep graphite end keeps the discharge window), so SOH 0.60 needs LLI ≈ 0.40–0.45.
 */
export const DEGRADATION_BOUNDS: Readonly<{ lli: number; lamNe: number; lamPe: number }> = Object.freeze({
  lli: 0.45,
  lamNe: 0.3,
  lamPe: 0.25,
});
/** Resistance growth of returned cells: 10–150 %, growing with capacity fade plus a random part. */
const RESISTANCE_GROWTH_RANGE: [number, number] = [0.1, 1.5];
/** Mode mix of returned cells — assumed. */
const MODE_WEIGHTS: Array<[DegradationMode, number]> = [
  ["lli", 0.35],
  ["lam-ne", 0.1],
  ["lam-ne-plating-risk", 0.1],
  ["lam-pe", 0.15],
  ["mixed", 0.3],
];
type DegradationMode = "lli" | "lam-ne" | "lam-ne-plating-risk" | "lam-pe" | "mixed";
const SOH_TOLERANCE = 1e-6;

/** The mode's direction in (lli, lamNe, lamPe) space, each component ≤ its bound. */
function modeDirection(rng: Prng, mode: DegradationMode): [number, number, number] {
  const b = DEGRADATION_BOUNDS;
  switch (mode) {
    case "lli":
      return [b.lli, b.lamNe * rng.between(0, 0.15), b.lamPe * rng.between(0, 0.15)];
    case "lam-ne":
      return [b.lli * rng.between(0.1, 0.3), b.lamNe, b.lamPe * rng.between(0, 0.15)];
    case "lam-ne-plating-risk":
      // little LLI leaves the shrunken negative electrode full at top of charge (x100 → 1)
      return [b.lli * rng.between(0, 0.05), b.lamNe, 0];
    case "lam-pe":
      return [b.lli * rng.between(0, 0.2), b.lamNe * rng.between(0, 0.1), b.lamPe];
    case "mixed":
      return [b.lli * rng.between(0.3, 1), b.lamNe * rng.between(0.3, 1), b.lamPe * rng.between(0.3, 1)];
  }
}

function pickMode(rng: Prng): DegradationMode {
  let u = rng.uniform();
  for (const [mode, weight] of MODE_WEIGHTS) {
    if (u < weight) return mode;
    u -= weight;
  }
  return "mixed";
}

/** Largest-crossing bisection of soh(t) = target on t ∈ [0, 1], soh(0) ≥ target ≥ soh(1). */
function solveScale(soh: (t: number) => number, target: number): number {
  let lo = 0;
  let hi = 1;
  while (hi - lo > SOH_TOLERANCE) {
    const mid = (lo + hi) / 2;
    if (soh(mid) > target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Ageing state along the mode's direction whose capacity SOH equals target. Where the mode cannot reach target
 * within the bounds (LAM_PE or LAM_NE can offset LLI, see electrode-balance.ts), LLI is raised to its bound, and
 * failing that the cell becomes LLI-only.
 */
function ageingForSoh(chemistry: ChemistryId, direction: [number, number, number], target: number): Omit<AgeingState, "resistanceGrowth"> {
  const chem = getChemistry(chemistry);
  const sohOf = ([lli, lamNe, lamPe]: [number, number, number]): number =>
    electrodeBalance(chem, 1, { lli, lamNe, lamPe, resistanceGrowth: 0 }).capacityAh;
  const candidates: Array<[number, number, number]> = [
    direction,
    [DEGRADATION_BOUNDS.lli, direction[1], direction[2]],
    [DEGRADATION_BOUNDS.lli, 0, 0],
  ];
  const reachable = candidates.find((d) => sohOf(d) <= target);
  if (reachable === undefined) {
    throw new RangeError(`${chemistry}: SOH ${target} is not reachable within the degradation bounds`);
  }
  const [dLli, dNe, dPe] = reachable;
  const t = solveScale((s) => sohOf([s * dLli, s * dNe, s * dPe]), target);
  return { lli: t * dLli, lamNe: t * dNe, lamPe: t * dPe };
}

/** Returned cells with hidden degradation modes (spec.ageing is the truth second-life grading must find). */
export function secondLifeCells(o: SecondLifeOptions): CellSpec[] {
  checkCount(`second-life set ${o.serialPrefix}`, o.count);
  const [sohLo, sohHi] = o.sohRange ?? [0.6, 0.95];
  if (!(sohLo > 0 && sohLo <= sohHi && sohHi <= 1)) throw new RangeError(`sohRange must satisfy 0 < lo ≤ hi ≤ 1, got [${sohLo}, ${sohHi}]`);
  const rng = createPrng(o.seed);
  const microShort = defectFlags(rng, o.count, 0, o.microShortIndices ?? [], "microShort");
  const [growthLo, growthHi] = RESISTANCE_GROWTH_RANGE;
  return Array.from({ length: o.count }, (_, i) => {
    // stratified targets: the set spans the range evenly even for small counts
    const targetSoh = sohHi - ((i + rng.uniform()) / Math.max(1, o.count)) * (sohHi - sohLo);
    const modes = ageingForSoh(o.chemistry, modeDirection(rng, pickMode(rng)), targetSoh);
    const fadeShare = Math.min(1, (1 - targetSoh) / 0.4);
    const resistanceGrowth = growthLo + (growthHi - growthLo) * (0.6 * fadeShare + 0.4 * rng.uniform());
    return drawCell(
      rng,
      o.chemistry,
      serialOf(o.serialPrefix, i, o.count),
      { ...modes, resistanceGrowth },
      { microShort: microShort[i], highResistance: false },
      SHIPPING_SOC,
    );
  });
}
