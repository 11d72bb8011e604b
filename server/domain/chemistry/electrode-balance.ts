/**
 * Electrode balance after Dubarry et al. ("Synthesize battery degradation modes via a diagnostic and prognostic
 * model", J. Power Sources 219 (2012) 204): the full cell is two half cells sharing one lithium inventory.
 *
 * Fresh cell: electrode capacities follow from the fresh stoichiometry windows,
 *   Q_neg = Q / (neg100 − neg0),  Q_pos = Q / (pos0 − pos100),
 * and the lithium inventory [Ah] is n_Li = x·Q_neg + y·Q_pos (constant along the cell's charge/discharge line).
 * Ageing (fractions of fresh values):
 *   - LLI removes lithium worth lli·Q (LLI expressed, as in Dubarry 2012, as a fraction of the fresh capacity);
 *   - LAM_NE / LAM_PE shrink Q_neg / Q_pos by lamNe / lamPe. Assumption: the lost material is delithiated
 *     (Dubarry's LAM_deNE / LAM_dePE), i.e. lost with the composition of its delithiated end of the fresh window
 *     (negative at x = neg0, positive at y = pos100), taking only that small residual lithium with it. The
 *     delithiated end of the window is then unchanged, and LAM costs capacity only once the shrunken electrode
 *     limits the other end — Dubarry's LAM_de signature. LAM of lithiated material equals LAM_de plus the LLI of
 *     the lithium it held and is expressed through the lli parameter.
 * The aged window is where the equilibrium OCV (Tref, no hysteresis) reaches the cell's equilibrium limits,
 * with both stoichiometries kept in [0, 1]. If an electrode saturates first (e.g. the negative electrode full
 * after heavy LAM_NE — the lithium-plating-risk pattern), that end of the window is the saturation point.
 *
 * Equilibrium limits: the OCV at the chemistry's fresh windows. For Chen 2020 they are 2.4977 V / 4.1929 V,
 * the 2.5 / 4.2 V limits within the accuracy of the published fits; using them keeps a fresh cell at exactly its
 * published windows and SOH 1 instead of shifting the published windows by a fit residual.
 *
 * Pure and allocation-light: called thousands of times per least-squares fit.
 */
import type { AgeingState, Chemistry } from "./chemistry.ts";

export interface ElectrodeBalance {
  /** full-cell equilibrium capacity between the chemistry's voltage limits at Tref [Ah] */
  capacityAh: number;
  negCapacityAh: number;
  posCapacityAh: number;
  /** electrode stoichiometries at full-cell 0 % and 100 % SOC */
  x0: number;
  x100: number;
  y0: number;
  y100: number;
}

/** Equilibrium OCV at the fresh 0 % and 100 % windows [V]. */
export function equilibriumLimitsV(chem: Chemistry): { minV: number; maxV: number } {
  const w = chem.window;
  return {
    minV: chem.posOcpV(w.pos0) - chem.negOcpV(w.neg0),
    maxV: chem.posOcpV(w.pos100) - chem.negOcpV(w.neg100),
  };
}

const ROOT_TOLERANCE = 1e-13;
const ROOT_MAX_ITERATIONS = 200;

/**
 * y where f(y) = 0 on [lo, hi] for f decreasing in y, f(lo) ≥ 0 ≥ f(hi): Illinois regula falsi
 * (guaranteed bracketing, superlinear on smooth OCPs).
 */
function rootDecreasing(f: (y: number) => number, lo: number, hi: number): number {
  let a = lo;
  let b = hi;
  let fa = f(a);
  let fb = f(b);
  let side = 0;
  for (let i = 0; i < ROOT_MAX_ITERATIONS && b - a > ROOT_TOLERANCE; i++) {
    const c = (a * fb - b * fa) / (fb - fa);
    const fc = f(c);
    if (fc === 0) return c;
    if (fc > 0) {
      a = c;
      fa = fc;
      if (side === -1) fb /= 2;
      side = -1;
    } else {
      b = c;
      fb = fc;
      if (side === 1) fa /= 2;
      side = 1;
    }
  }
  return (a + b) / 2;
}

function checkAgeing(ageing: AgeingState): void {
  const fields: Array<[keyof AgeingState, number]> = [
    ["lli", ageing.lli],
    ["lamNe", ageing.lamNe],
    ["lamPe", ageing.lamPe],
  ];
  for (const [name, value] of fields) {
    if (!(value >= 0 && value < 1)) throw new RangeError(`ageing.${name} must be in [0, 1), got ${value}`);
  }
}

export function electrodeBalance(chem: Chemistry, freshCapacityAh: number, ageing: AgeingState): ElectrodeBalance {
  if (!(freshCapacityAh > 0)) throw new RangeError(`freshCapacityAh must be > 0, got ${freshCapacityAh}`);
  checkAgeing(ageing);
  const w = chem.window;
  const freshNegAh = freshCapacityAh / (w.neg100 - w.neg0);
  const freshPosAh = freshCapacityAh / (w.pos0 - w.pos100);
  const negAh = freshNegAh * (1 - ageing.lamNe);
  const posAh = freshPosAh * (1 - ageing.lamPe);
  const lithiumAh =
    w.neg100 * freshNegAh +
    w.pos100 * freshPosAh -
    ageing.lli * freshCapacityAh -
    ageing.lamNe * freshNegAh * w.neg0 -
    ageing.lamPe * freshPosAh * w.pos100;

  // Along the cell's line x(y) = (n_Li − y·Q_pos)/Q_neg; both stoichiometries in [0, 1] bound y.
  const yLo = Math.max(0, (lithiumAh - negAh) / posAh);
  const yHi = Math.min(1, lithiumAh / posAh);
  if (!(yHi > yLo)) {
    throw new RangeError(
      `ageing ${JSON.stringify(ageing)} leaves no cyclable window for ${chem.id} (lithium ${lithiumAh.toFixed(4)} Ah)`,
    );
  }
  const ocvAtY = (y: number): number => chem.posOcpV(y) - chem.negOcpV((lithiumAh - y * posAh) / negAh);
  const { minV, maxV } = equilibriumLimitsV(chem);
  const y100 = ocvAtY(yLo) <= maxV ? yLo : rootDecreasing((y) => ocvAtY(y) - maxV, yLo, yHi);
  const y0 = ocvAtY(yHi) >= minV ? yHi : rootDecreasing((y) => ocvAtY(y) - minV, yLo, yHi);
  return {
    capacityAh: (y0 - y100) * posAh,
    negCapacityAh: negAh,
    posCapacityAh: posAh,
    x0: (lithiumAh - y0 * posAh) / negAh,
    x100: (lithiumAh - y100 * posAh) / negAh,
    y0,
    y100,
  };
}

/** Stoichiometries at a SOC relative to the aged cell's own capacity (both vary linearly with charge). */
export function stoichiometryAtSoc(bal: ElectrodeBalance, soc: number): { x: number; y: number } {
  return { x: bal.x0 + soc * (bal.x100 - bal.x0), y: bal.y0 + soc * (bal.y100 - bal.y0) };
}

/** Equilibrium full-cell OCV [V] without hysteresis, with the entropic term U(T) = U(Tref) + (T − Tref)·dU/dT. */
export function ocvAtSoc(chem: Chemistry, bal: ElectrodeBalance, soc: number, temperatureC?: number): number {
  const x = bal.x0 + soc * (bal.x100 - bal.x0);
  const y = bal.y0 + soc * (bal.y100 - bal.y0);
  const ocvRefV = chem.posOcpV(y) - chem.negOcpV(x);
  if (temperatureC === undefined) return ocvRefV;
  const dudtMvPerK = chem.posDudtMvPerK(y) - chem.negDudtMvPerK(x);
  return ocvRefV + (temperatureC - chem.referenceTemperatureC) * dudtMvPerK * 1e-3;
}

/** Full-cell entropic coefficient [mV/K] = dU_pos/dT − dU_neg/dT. */
export function dudtAtSoc(chem: Chemistry, bal: ElectrodeBalance, soc: number): number {
  const x = bal.x0 + soc * (bal.x100 - bal.x0);
  const y = bal.y0 + soc * (bal.y100 - bal.y0);
  return chem.posDudtMvPerK(y) - chem.negDudtMvPerK(x);
}
