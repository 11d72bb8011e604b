/**
 * State of health, by capacity and by resistance, with uncertainties propagated to first order
 * (GUM, JCGM 100:2008 §5.1: for a ratio the relative variances add).
 * - by capacity: SOH_Q = Q / Q_ref, Q_ref the imprint capacity when the cell has one (its own fresh value),
 *   otherwise the rated capacity (then the manufacturing spread, ≈ 1 %, is part of Q_ref's uncertainty);
 * - by resistance: growth g = R / R_ref − 1 and SOH_R = 1 − g / g_EOL, g_EOL the end-of-life growth
 *   (commonly 100 %: resistance doubled, e.g. IEC 61960-style end-of-life criteria used in second-life studies).
 */
import type { Measured } from "../imprint/measured.ts";

export function ratio(numerator: Measured, denominator: Measured): Measured {
  const value = numerator.value / denominator.value;
  return { value, uncertainty: Math.abs(value) * Math.hypot(numerator.uncertainty / numerator.value, denominator.uncertainty / denominator.value) };
}

export function sohByCapacity(capacityAh: Measured, referenceCapacityAh: Measured): Measured {
  return ratio(capacityAh, referenceCapacityAh);
}

export interface ResistanceHealth {
  /** R / R_ref − 1 (0.3 = +30 %) */
  resistanceGrowth: Measured;
  sohResistance: Measured;
}

export function sohByResistance(dcirMilliohm: Measured, referenceDcirMilliohm: Measured, endOfLifeGrowth = 1): ResistanceHealth {
  const r = ratio(dcirMilliohm, referenceDcirMilliohm);
  return {
    resistanceGrowth: { value: r.value - 1, uncertainty: r.uncertainty },
    sohResistance: { value: 1 - (r.value - 1) / endOfLifeGrowth, uncertainty: r.uncertainty / endOfLifeGrowth },
  };
}
