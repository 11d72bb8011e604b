/**
 * State-update functions of NREL BLAST-Lite (blast/utils/state_functions.py and
 * BatteryDegradationModel._update_*_state in blast/models/degradation_model.py, github.com/NREL/BLAST-Lite).
 * Each advances a degradation state y by dx of its independent variable (days or equivalent full cycles)
 * at the slope its trajectory equation has at the current y — so rates may change along a life while the
 * state carries over. Translated line by line; the first step from y = 0 uses the trajectory itself.
 */

/** Trajectory y = k·x^p; returns Δy. */
export function updatePowerState(y0: number, dx: number, k: number, p: number): number {
  if (dx === 0) return 0;
  if (y0 === 0) return k * dx ** p;
  return k * p * (y0 / k) ** ((p - 1) / p) * dx;
}

/** Trajectory y = 2·y∞·(1/2 − 1/(1 + exp((k·x)^p))); returns Δy. */
export function updateSigmoidState(y0: number, dx: number, yInf: number, k: number, p: number): number {
  if (dx === 0) return 0;
  if (y0 === 0) return 2 * yInf * (0.5 - 1 / (1 + Math.exp((k * dx) ** p)));
  const xInv = (1 / k) * Math.log(-((2 * yInf) / (y0 - yInf)) - 1) ** (1 / p);
  const z = (k * xInv) ** p;
  return ((2 * yInf * p * Math.exp(z) * z) / (xInv * (Math.exp(z) + 1) ** 2)) * dx;
}

/** Trapezoid time average of values over times (numpy.trapz(y, x) / (x[-1] − x[0])). */
export function timeAverage(values: readonly number[], timesS: readonly number[]): number {
  const span = timesS[timesS.length - 1] - timesS[0];
  if (span <= 0) return values[0];
  let area = 0;
  for (let i = 1; i < values.length; i++) area += 0.5 * (values[i] + values[i - 1]) * (timesS[i] - timesS[i - 1]);
  return area / span;
}
