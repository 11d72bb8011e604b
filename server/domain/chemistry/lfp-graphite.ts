/**
 * LFP / graphite chemistry in the A123 ANR26650M1-like format modelled by Prada et al. (2013): 2.3 Ah,
 * used here between 2.5 V and 3.65 V. Flat OCV plateau and OCV hysteresis.
 * Sources:
 * - LFP OCP: S. Afshar, K. Morris, A. Khajepour, "Efficient electrochemical model for lithium-ion cells",
 *   arXiv:1709.03970 (2017) — the fit PyBaMM's Prada2013 parameter set uses for LFP.
 * - Graphite OCP and dU/dT: Chen 2020 / O'Regan 2022, shared with the NMC811 reference chemistry
 *   (PyBaMM's Prada2013 set also pairs LFP with Chen's graphite, as Prada 2013 gives no graphite OCP).
 * - Cell: E. Prada et al., "A simplified electrochemical and thermal aging model of LiFePO4-graphite Li-ion
 *   batteries", J. Electrochem. Soc. 160 (2013) A616 — 2.3 Ah 26650; x(100 %) = 0.81 from PyBaMM's Prada2013 set.
 * - LFP dU/dT: taken as 0, as in PyBaMM's Prada2013 set ("Positive electrode OCP entropic change": 0). The
 *   two-phase LFP plateau has a small, nearly SOC-independent entropic coefficient, so the full-cell dU/dT
 *   profile is shaped by graphite staging; a measured LFP half-cell dU/dT fit would refine the offset.
 * - Hysteresis: W. Dreyer et al., "The thermodynamic origin of hysteresis in insertion batteries",
 *   Nature Materials 9 (2010) 448 — a charge/discharge OCV gap of the order of 20 mV that persists at rest
 *   for LFP; modelled as a 10 mV half-width.
 */
import type { Chemistry } from "./chemistry.ts";
import { graphiteDudtORegan2022MvPerK, graphiteOcpChen2020V } from "./nmc811-graphite.ts";

/** Afshar 2017 LFP OCP vs Li/Li+ [V], y = lithium stoichiometry of the positive electrode. */
export function lfpOcpAfshar2017V(y: number): number {
  return 3.4077 - 0.020269 * y + 0.5 * Math.exp(-150 * y) - 0.9 * Math.exp(-30 * (1 - y));
}

const LFP_HYSTERESIS_HALF_WIDTH_V = 0.01;
/** The gap belongs to the two-phase plateau; assumed to fade linearly within 10 % SOC of either end. */
const HYSTERESIS_FADE_SOC = 0.1;

export const LFP_GRAPHITE: Chemistry = Object.freeze({
  id: "lfp-graphite",
  label: "LFP / graphite (A123 26650-like, Prada 2013 / Afshar 2017)",
  nominalCapacityAh: 2.3,
  minVoltageV: 2.5,
  maxVoltageV: 3.65,
  referenceTemperatureC: 25,
  negOcpV: graphiteOcpChen2020V,
  posOcpV: lfpOcpAfshar2017V,
  negDudtMvPerK: graphiteDudtORegan2022MvPerK,
  posDudtMvPerK: () => 0,
  // Derived here: x100 = 0.81 (Prada2013 set); y100 solves OCV = 3.65 V at x100; x0 and y0 solve OCV = 2.5 V
  // with an assumed N/P capacity ratio of 1.10 (Q_neg/Q_pos); rounded to 4 digits, the windows sit at 2.4998 V
  // and 3.6491 V.
  window: Object.freeze({ neg0: 0.0362, neg100: 0.81, pos0: 0.8538, pos100: 0.0027 }),
  hysteresisHalfWidthV: (soc: number) =>
    LFP_HYSTERESIS_HALF_WIDTH_V * Math.max(0, Math.min(1, soc / HYSTERESIS_FADE_SOC, (1 - soc) / HYSTERESIS_FADE_SOC)),
});
