/**
 * One simulated cell (DESIGN §5): half-cell OCV with Dubarry ageing, series resistance, two RC pairs, one-state
 * OCV hysteresis, Arrhenius resistance, entropic OCV term, self-discharge leak and a lumped thermal mass.
 *
 * Sign convention: current > 0 charges the cell and raises its terminal voltage.
 *   V = OCV(soc, T) + V_hyst + I·(R0(T) + R_contact) + V_RC1 + V_RC2
 * Thermal, heat generated in the cell [W] (charge-positive I):
 *   m·c_p·dT/dt = Q_joule + I·T·dU/dT − hA·(T − T_ambient)
 *   The reversible term follows from ΔS = F·dU/dT of the discharge reaction: discharging absorbs T·ΔS per mole,
 *   so heat generated on discharge is −I_dis·T·dU/dT (Bernardi et al., J. Electrochem. Soc. 132 (1985) 5, with
 *   discharge-positive current); with charge-positive I that is +I·T·dU/dT.
 *   Q_joule = I²·R0 + V_RC1²/R1 + V_RC2²/R2 + I·V_hyst (the RC terms dissipate even at rest while relaxing).
 *   Contact resistance heats the fixture, not the cell, and is left out.
 * Time constants τ1, τ2 are held constant over temperature (Arrhenius acts on the resistances only).
 * Every update is the exact solution for a constant current over the step, so any dtS ≥ 0 is stable.
 */
import type { AgeingState, ChemistryId } from "../../server/domain/chemistry/chemistry.ts";
import { dudtAtSoc, electrodeBalance, ocvAtSoc } from "../../server/domain/chemistry/electrode-balance.ts";
import { getChemistry } from "../../server/domain/chemistry/registry.ts";
import { electrodeTables, lookup } from "./electrode-tables.ts";

export interface CellTruth {
  serial: string;
  chemistry: ChemistryId;
  ageing: AgeingState;
  freshCapacityAh: number;
  /** true equilibrium capacity at 25 °C */
  capacityAh: number;
  sohCapacity: number;
  /** at 25 °C incl. ageing */
  r0Ohm: number;
  r1Ohm: number;
  tau1S: number;
  r2Ohm: number;
  tau2S: number;
  /** true 10 s pulse resistance at 25 °C, 50 % SOC = r0 + r1(1−e^(−10/τ1)) + r2(1−e^(−10/τ2)) */
  dcir10sOhm: number;
  leakCurrentA: number;
  microShort: boolean;
  highResistance: boolean;
  socFraction: number;
  /** equilibrium OCV at the present SOC and cell temperature, without hysteresis */
  ocvV: number;
  temperatureC: number;
  dudtMvPerK: number;
}

export interface SimCell {
  readonly serial: string;
  readonly temperatureC: number;
  /** fault injection, series [Ω] */
  contactResistanceOhm: number;
  /** terminal V if currentA (charge > 0) flowed now */
  voltageAt(currentA: number): number;
  /** current that gives terminal voltageV now (for CV) */
  currentForVoltage(voltageV: number): number;
  /** current with I·V(I) = powerW now (for CP), NaN if unreachable */
  currentForPower(powerW: number): number;
  /** exact exponential update of RC states and thermal for constant I over dtS; any dtS ≥ 0 is stable */
  advance(dtS: number, currentA: number, ambientC: number): void;
  /** simulator-only ground truth */
  truth(): CellTruth;
}

export interface CellSpec {
  serial: string;
  chemistry: ChemistryId;
  freshCapacityAh: number;
  ageing: AgeingState;
  /** resistances of the fresh cell at 25 °C; the model scales them by (1 + ageing.resistanceGrowth) */
  r0Ohm: number;
  r1Ohm: number;
  tau1S: number;
  r2Ohm: number;
  tau2S: number;
  activationEnergyJPerMol: number;
  leakCurrentA: number;
  microShort: boolean;
  highResistance: boolean;
  massKg: number;
  heatCapacityJPerKgK: number;
  hAWPerK: number;
  initialSoc: number;
  initialTemperatureC: number;
}

const GAS_CONSTANT_J_PER_MOL_K = 8.314462618;
const KELVIN_OFFSET = 273.15;
const DCIR_PULSE_S = 10;
/**
 * Fraction of charge current consumed by side reactions (SEI growth, electrolyte oxidation), giving a fresh
 * cell a coulombic efficiency of 0.9998: the order of 1 − CE measured by high-precision coulometry on commercial
 * graphite cells (A. J. Smith, J. C. Burns, S. Trussler, J. R. Dahn, J. Electrochem. Soc. 157 (2010) A196).
 * The lithium it consumes is not added to the ageing state during a simulation.
 */
export const CHARGE_SIDE_REACTION_FRACTION = 2e-4;
/**
 * One-state hysteresis (G. L. Plett, J. Power Sources 134 (2004) 262): the state moves towards sign(I) as
 * dh/dq = −(h − sign I)/q_switch. Assumed q_switch: 2 % of the cell capacity (1/e of the branch change).
 */
const HYSTERESIS_SWITCH_SOC = 0.02;

function checkSpec(spec: CellSpec): void {
  const positive: Array<[string, number]> = [
    ["freshCapacityAh", spec.freshCapacityAh],
    ["r0Ohm", spec.r0Ohm],
    ["r1Ohm", spec.r1Ohm],
    ["tau1S", spec.tau1S],
    ["r2Ohm", spec.r2Ohm],
    ["tau2S", spec.tau2S],
    ["massKg", spec.massKg],
    ["heatCapacityJPerKgK", spec.heatCapacityJPerKgK],
    ["hAWPerK", spec.hAWPerK],
  ];
  for (const [name, value] of positive) {
    if (!(value > 0 && Number.isFinite(value))) throw new RangeError(`cell ${spec.serial}: ${name} must be > 0, got ${value}`);
  }
  const nonNegative: Array<[string, number]> = [
    ["activationEnergyJPerMol", spec.activationEnergyJPerMol],
    ["leakCurrentA", spec.leakCurrentA],
    ["ageing.resistanceGrowth", spec.ageing.resistanceGrowth],
  ];
  for (const [name, value] of nonNegative) {
    if (!(value >= 0 && Number.isFinite(value))) throw new RangeError(`cell ${spec.serial}: ${name} must be ≥ 0, got ${value}`);
  }
  if (!(spec.initialSoc >= 0 && spec.initialSoc <= 1)) {
    throw new RangeError(`cell ${spec.serial}: initialSoc must be in [0, 1], got ${spec.initialSoc}`);
  }
  if (!Number.isFinite(spec.initialTemperatureC)) {
    throw new RangeError(`cell ${spec.serial}: initialTemperatureC must be finite, got ${spec.initialTemperatureC}`);
  }
}

/** Mean of v(t)² over [0, dt] for v(t) = vEnd + (v0 − vEnd)·e^(−t/τ), with a = e^(−dt/τ). */
function meanSquareOfRelaxation(v0: number, vEnd: number, tauS: number, dtS: number, a: number): number {
  const d = v0 - vEnd;
  return vEnd * vEnd + (2 * vEnd * d * tauS * (1 - a) + d * d * (tauS / 2) * (1 - a * a)) / dtS;
}

export function createCell(spec: CellSpec): SimCell {
  checkSpec(spec);
  const chem = getChemistry(spec.chemistry);
  const balance = electrodeBalance(chem, spec.freshCapacityAh, spec.ageing);
  const tables = electrodeTables(chem);
  const growth = 1 + spec.ageing.resistanceGrowth;
  const r0RefOhm = spec.r0Ohm * growth;
  const r1RefOhm = spec.r1Ohm * growth;
  const r2RefOhm = spec.r2Ohm * growth;
  const { tau1S, tau2S } = spec;
  const capacityAh = balance.capacityAh;
  const { x0, y0 } = balance;
  const dx = balance.x100 - balance.x0;
  const dy = balance.y100 - balance.y0;
  const referenceK = chem.referenceTemperatureC + KELVIN_OFFSET;
  const activationK = spec.activationEnergyJPerMol / GAS_CONSTANT_J_PER_MOL_K;
  const heatCapacityJPerK = spec.massKg * spec.heatCapacityJPerKgK;
  const hAWPerK = spec.hAWPerK;
  const thermalTauS = heatCapacityJPerK / hAWPerK;
  const hasHysteresis = chem.hysteresisHalfWidthV(0.5) > 0;
  const hysteresisSwitchAh = HYSTERESIS_SWITCH_SOC * capacityAh;

  let soc = spec.initialSoc;
  let temperatureC = spec.initialTemperatureC;
  let vRc1V = 0;
  let vRc2V = 0;
  let hysteresisState = 0;
  // exponentials depend only on dtS: reuse them while the caller keeps a fixed step
  let cachedDtS = -1;
  let a1 = 1;
  let a2 = 1;
  let aThermal = 1;
  // open-circuit part of V and R0(T), valid until the next advance()
  let stale = true;
  let openCircuitV = 0;
  let r0Ohm = r0RefOhm;

  // memoised: voltageAt() after advance() and the next advance() ask for the same temperature
  let arrheniusTemperatureC = Number.NaN;
  let arrheniusFactor = 1;
  const arrhenius = (tC: number): number => {
    if (tC !== arrheniusTemperatureC) {
      arrheniusTemperatureC = tC;
      arrheniusFactor = Math.exp(activationK * (1 / (tC + KELVIN_OFFSET) - 1 / referenceK));
    }
    return arrheniusFactor;
  };
  const dudtVPerK = (x: number, y: number): number =>
    (lookup(tables.posDudtMvPerK, y) - lookup(tables.negDudtMvPerK, x)) * 1e-3;
  const hysteresisV = (): number => (hasHysteresis ? hysteresisState * chem.hysteresisHalfWidthV(soc) : 0);

  function refresh(): void {
    const x = x0 + soc * dx;
    const y = y0 + soc * dy;
    const ocvRefV = lookup(tables.posOcpV, y) - lookup(tables.negOcpV, x);
    openCircuitV = ocvRefV + (temperatureC - chem.referenceTemperatureC) * dudtVPerK(x, y) + hysteresisV();
    r0Ohm = r0RefOhm * arrhenius(temperatureC);
    stale = false;
  }

  const cell: SimCell = {
    serial: spec.serial,
    get temperatureC() {
      return temperatureC;
    },
    contactResistanceOhm: 0,

    voltageAt(currentA: number): number {
      if (stale) refresh();
      return openCircuitV + vRc1V + vRc2V + currentA * (r0Ohm + cell.contactResistanceOhm);
    },

    currentForVoltage(voltageV: number): number {
      if (stale) refresh();
      return (voltageV - openCircuitV - vRc1V - vRc2V) / (r0Ohm + cell.contactResistanceOhm);
    },

    currentForPower(powerW: number): number {
      if (stale) refresh();
      // I·(A + B·I) = P; the root continuous with I = P/A at small power, written without cancellation.
      const a = openCircuitV + vRc1V + vRc2V;
      const b = r0Ohm + cell.contactResistanceOhm;
      const discriminant = a * a + 4 * b * powerW;
      if (discriminant < 0) return Number.NaN;
      return (2 * powerW) / (a + Math.sqrt(discriminant));
    },

    advance(dtS: number, currentA: number, ambientC: number): void {
      if (!(dtS >= 0 && Number.isFinite(dtS))) throw new RangeError(`cell ${spec.serial}: dtS must be ≥ 0, got ${dtS}`);
      if (!Number.isFinite(currentA)) throw new RangeError(`cell ${spec.serial}: currentA must be finite, got ${currentA}`);
      if (dtS === 0) return;
      if (dtS !== cachedDtS) {
        cachedDtS = dtS;
        a1 = Math.exp(-dtS / tau1S);
        a2 = Math.exp(-dtS / tau2S);
        aThermal = Math.exp(-dtS / thermalTauS);
      }
      const factor = arrhenius(temperatureC);
      const r1Ohm = r1RefOhm * factor;
      const r2Ohm = r2RefOhm * factor;
      const v1EndV = currentA * r1Ohm;
      const v2EndV = currentA * r2Ohm;
      const storedCurrentA = (currentA > 0 ? currentA * (1 - CHARGE_SIDE_REACTION_FRACTION) : currentA) - spec.leakCurrentA;
      const socStep = (storedCurrentA * dtS) / 3600 / capacityAh;
      // reversible heat at the step's mid-point SOC: exact enough for hour-long steps where dU/dT changes
      const socMid = soc + socStep / 2;
      const x = x0 + socMid * dx;
      const y = y0 + socMid * dy;

      const jouleW =
        currentA * currentA * r0RefOhm * factor +
        meanSquareOfRelaxation(vRc1V, v1EndV, tau1S, dtS, a1) / r1Ohm +
        meanSquareOfRelaxation(vRc2V, v2EndV, tau2S, dtS, a2) / r2Ohm +
        currentA * hysteresisV();
      const reversibleW = currentA * (temperatureC + KELVIN_OFFSET) * dudtVPerK(x, y);
      const equilibriumC = ambientC + (jouleW + reversibleW) / hAWPerK;
      temperatureC = equilibriumC + (temperatureC - equilibriumC) * aThermal;

      vRc1V = v1EndV + (vRc1V - v1EndV) * a1;
      vRc2V = v2EndV + (vRc2V - v2EndV) * a2;

      if (hasHysteresis && currentA !== 0) {
        const target = currentA > 0 ? 1 : -1;
        const switched = Math.exp((-Math.abs(currentA) * dtS) / 3600 / hysteresisSwitchAh);
        hysteresisState = target + (hysteresisState - target) * switched;
      }

      soc += socStep;
      stale = true;
    },

    truth(): CellTruth {
      const socNow = soc;
      return {
        serial: spec.serial,
        chemistry: spec.chemistry,
        ageing: { ...spec.ageing },
        freshCapacityAh: spec.freshCapacityAh,
        capacityAh,
        sohCapacity: capacityAh / spec.freshCapacityAh,
        r0Ohm: r0RefOhm,
        r1Ohm: r1RefOhm,
        tau1S,
        r2Ohm: r2RefOhm,
        tau2S,
        dcir10sOhm:
          r0RefOhm + r1RefOhm * (1 - Math.exp(-DCIR_PULSE_S / tau1S)) + r2RefOhm * (1 - Math.exp(-DCIR_PULSE_S / tau2S)),
        leakCurrentA: spec.leakCurrentA,
        microShort: spec.microShort,
        highResistance: spec.highResistance,
        socFraction: socNow,
        ocvV: ocvAtSoc(chem, balance, socNow, temperatureC),
        temperatureC,
        dudtMvPerK: dudtAtSoc(chem, balance, socNow),
      };
    },
  };
  return cell;
}
