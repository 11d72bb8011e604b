/**
 * NMC811 / graphite-SiOx reference chemistry, LG INR21700-M50-like (5 Ah, 2.5–4.2 V), DESIGN §5.
 * Sources:
 * - OCPs and stoichiometry windows: C.-H. Chen, F. Brosa Planella, K. O'Regan, D. Gastol, W. D. Widanage,
 *   E. Kendrick, "Development of Experimental Techniques for Parameterization of Multi-scale Lithium-ion
 *   Battery Models", J. Electrochem. Soc. 167 (2020) 080534.
 * - Entropic coefficients: K. O'Regan, F. Brosa Planella, W. D. Widanage, E. Kendrick, "Thermal-electrochemical
 *   parameters of a high energy lithium-ion cylindrical battery", Electrochim. Acta 425 (2022) 140700.
 * The cell shows no OCV hysteresis in this model (Chen 2020 fit one pseudo-OCV branch per electrode).
 */
import type { Chemistry } from "./chemistry.ts";

/** Chen 2020, graphite-SiOx OCP vs Li/Li+ [V], x = lithium stoichiometry of the negative electrode. */
export function graphiteOcpChen2020V(x: number): number {
  return (
    1.9793 * Math.exp(-39.3631 * x) +
    0.2482 -
    0.0909 * Math.tanh(29.8538 * (x - 0.1234)) -
    0.04478 * Math.tanh(14.9159 * (x - 0.2769)) -
    0.0205 * Math.tanh(30.4444 * (x - 0.6103))
  );
}

/** O'Regan 2022, graphite entropic coefficient dU/dT [mV/K] (form and constants as given in DESIGN §5). */
export function graphiteDudtORegan2022MvPerK(x: number): number {
  const d = x - 0.08309;
  return -0.1112 * x + 0.02914 + 0.3561 * Math.exp(-(d * d) / 0.004616);
}

/** Chen 2020, NMC811 OCP vs Li/Li+ [V], y = lithium stoichiometry of the positive electrode. */
export function nmc811OcpChen2020V(y: number): number {
  return (
    -0.809 * y +
    4.4875 -
    0.0428 * Math.tanh(18.5138 * (y - 0.5542)) -
    17.7326 * Math.tanh(15.789 * (y - 0.3117)) +
    17.5842 * Math.tanh(15.9308 * (y - 0.312))
  );
}

/** O'Regan 2022, NMC811 entropic coefficient dU/dT [mV/K]. */
export function nmc811DudtORegan2022MvPerK(y: number): number {
  const d1 = y - 0.2828;
  const d2 = y - 0.8032;
  return 0.04006 * Math.exp(-(d1 * d1) / 0.0009855) - 0.06656 * Math.exp(-(d2 * d2) / 0.02179);
}

export const NMC811_GRAPHITE: Chemistry = Object.freeze({
  id: "nmc811-graphite",
  label: "NMC811 / graphite-SiOx (LG M50-like, Chen 2020)",
  nominalCapacityAh: 5,
  minVoltageV: 2.5,
  maxVoltageV: 4.2,
  referenceTemperatureC: 25,
  negOcpV: graphiteOcpChen2020V,
  posOcpV: nmc811OcpChen2020V,
  negDudtMvPerK: graphiteDudtORegan2022MvPerK,
  posDudtMvPerK: nmc811DudtORegan2022MvPerK,
  // Chen 2020 Table: stoichiometry at 0 % / 100 % SOC. With the fitted OCPs these windows sit at 2.4977 V and
  // 4.1929 V, i.e. the 2.5/4.2 V limits to within the fit accuracy; electrode-balance.ts keeps them exact.
  window: Object.freeze({ neg0: 0.0279, neg100: 0.9014, pos0: 0.9084, pos100: 0.2661 }),
  hysteresisHalfWidthV: () => 0,
});
