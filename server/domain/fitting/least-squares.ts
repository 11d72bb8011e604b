/**
 * Least-squares fitting for the analysis code (entropy, degradation modes). There is no numeric library in the
 * project, so the two solvers the science needs live here, small and tested:
 * - linear least squares by Householder QR (numerically safer than normal equations for the nearly collinear
 *   exponential regressors of an OCV relaxation; Golub & Van Loan, Matrix Computations, §5.3);
 * - Levenberg–Marquardt with box bounds (Marquardt 1963; bounds by projection, as in Kanzow et al. 2004) with a
 *   forward-difference Jacobian, and the parameter covariance σ²(JᵀJ)⁻¹ at the optimum.
 */

export interface LinearFit {
  coefficients: number[];
  /** (XᵀWX)⁻¹ — multiply by the residual variance for the covariance of the coefficients */
  unscaledCovariance: number[][];
  /** weighted residual sum of squares */
  rss: number;
  residuals: number[];
  /** degrees of freedom: rows − columns */
  dof: number;
}

/** Thrown when a fit's design has no unique solution; the message names the fit and the cause. */
export class FitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FitError";
  }
}

/**
 * Solve min Σ wᵢ (yᵢ − xᵢ·β)² for β. `columns[j][i]` is regressor j at row i (column-major: the callers build
 * regressors as whole series). Columns are scaled to unit norm before the QR so that a column in volts and one
 * in kelvins condition alike.
 */
export function linearLeastSquares(columns: readonly (readonly number[])[], y: readonly number[], weights?: readonly number[]): LinearFit {
  const n = y.length;
  const p = columns.length;
  if (p === 0) throw new FitError("linear least squares: no regressors");
  if (n < p) throw new FitError(`linear least squares: ${n} rows for ${p} unknowns`);
  columns.forEach((c, j) => {
    if (c.length !== n) throw new FitError(`linear least squares: regressor ${j} has ${c.length} rows, expected ${n}`);
  });
  const sqrtW = Array.from({ length: n }, (_, i) => Math.sqrt(weights ? weights[i] : 1));
  const scale = columns.map((c) => Math.sqrt(c.reduce((s, v, i) => s + (v * sqrtW[i]) ** 2, 0)) || 1);
  // A is n×p, row-major copy of the scaled, weighted design.
  const a = Array.from({ length: n }, (_, i) => columns.map((c, j) => (c[i] * sqrtW[i]) / scale[j]));
  const b = y.map((v, i) => v * sqrtW[i]);
  for (let k = 0; k < p; k++) {
    let norm = 0;
    for (let i = k; i < n; i++) norm += a[i][k] * a[i][k];
    norm = Math.sqrt(norm);
    if (norm < 1e-13) throw new FitError(`linear least squares: regressor ${k} is a combination of the others (rank-deficient design)`);
    const alpha = a[k][k] > 0 ? -norm : norm;
    const v = new Array<number>(n).fill(0);
    v[k] = a[k][k] - alpha;
    for (let i = k + 1; i < n; i++) v[i] = a[i][k];
    const vNorm2 = v.reduce((s, x, i) => (i >= k ? s + x * x : s), 0);
    if (vNorm2 === 0) continue;
    for (let j = k; j < p; j++) {
      let dot = 0;
      for (let i = k; i < n; i++) dot += v[i] * a[i][j];
      const f = (2 * dot) / vNorm2;
      for (let i = k; i < n; i++) a[i][j] -= f * v[i];
    }
    let dotB = 0;
    for (let i = k; i < n; i++) dotB += v[i] * b[i];
    const fb = (2 * dotB) / vNorm2;
    for (let i = k; i < n; i++) b[i] -= fb * v[i];
  }
  const diagMax = Math.max(...Array.from({ length: p }, (_, k) => Math.abs(a[k][k])));
  for (let k = 0; k < p; k++) {
    if (Math.abs(a[k][k]) < 1e-12 * diagMax) {
      throw new FitError(`linear least squares: regressor ${k} is (nearly) a combination of the others (rank-deficient design)`);
    }
  }
  // Back-substitution R·z = Qᵀb, then β = z / scale.
  const z = new Array<number>(p).fill(0);
  for (let k = p - 1; k >= 0; k--) {
    let s = b[k];
    for (let j = k + 1; j < p; j++) s -= a[k][j] * z[j];
    z[k] = s / a[k][k];
  }
  const coefficients = z.map((v, j) => v / scale[j]);
  // R⁻¹ (upper triangular), then (XᵀWX)⁻¹ = S⁻¹ R⁻¹ R⁻ᵀ S⁻¹.
  const rInv = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let j = 0; j < p; j++) {
    rInv[j][j] = 1 / a[j][j];
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let k = i + 1; k <= j; k++) s += a[i][k] * rInv[k][j];
      rInv[i][j] = -s / a[i][i];
    }
  }
  const unscaledCovariance = Array.from({ length: p }, (_, i) =>
    Array.from({ length: p }, (_, j) => {
      let s = 0;
      for (let k = Math.max(i, j); k < p; k++) s += rInv[i][k] * rInv[j][k];
      return s / (scale[i] * scale[j]);
    }),
  );
  const residuals = y.map((v, i) => v - columns.reduce((s, c, j) => s + c[i] * coefficients[j], 0));
  const rss = residuals.reduce((s, r, i) => s + (weights ? weights[i] : 1) * r * r, 0);
  return { coefficients, unscaledCovariance, rss, residuals, dof: n - p };
}

/** Inverse of a symmetric positive-definite matrix by Cholesky; throws a FitError naming `what` if it is singular. */
export function invertSymmetric(m: readonly (readonly number[])[], what: string): number[][] {
  const p = m.length;
  const l = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = m[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      if (i === j) {
        if (!(s > 1e-300)) throw new FitError(`${what}: matrix is singular (parameter ${i} is not determined by the data)`);
        l[i][i] = Math.sqrt(s);
      } else {
        l[i][j] = s / l[j][j];
      }
    }
  }
  const lInv = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let i = 0; i < p; i++) {
    lInv[i][i] = 1 / l[i][i];
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s += l[i][k] * lInv[k][j];
      lInv[i][j] = -s / l[i][i];
    }
  }
  return Array.from({ length: p }, (_, i) =>
    Array.from({ length: p }, (_, j) => {
      let s = 0;
      for (let k = Math.max(i, j); k < p; k++) s += lInv[k][i] * lInv[k][j];
      return s;
    }),
  );
}

export interface BoundedLmOptions {
  lower: readonly number[];
  upper: readonly number[];
  /** forward-difference step per parameter (absolute) */
  step: readonly number[];
  maxIterations?: number;
  /** stop when the relative decrease of the cost falls below this */
  tolerance?: number;
}

export interface NonlinearFit {
  parameters: number[];
  /** σ²(JᵀJ)⁻¹ with σ² = RSS/(n − p); null when JᵀJ is singular (a parameter the data do not determine) */
  covariance: number[][] | null;
  residuals: number[];
  rss: number;
  dof: number;
  iterations: number;
  /** parameters that ended on a bound (their uncertainty from the Jacobian is not meaningful) */
  atBound: boolean[];
}

function jacobianAt(residual: (p: number[]) => number[], p: number[], r0: number[], o: BoundedLmOptions): number[][] {
  // Columns of J (∂rᵢ/∂pⱼ); the step goes inward when p sits on its upper bound.
  return p.map((pj, j) => {
    const h = pj + o.step[j] > o.upper[j] ? -o.step[j] : o.step[j];
    const q = p.slice();
    q[j] = pj + h;
    const r = residual(q);
    return r.map((v, i) => (v - r0[i]) / h);
  });
}

/**
 * Minimise Σ rᵢ(p)² within lower ≤ p ≤ upper. `residual` returns weighted residuals (divide by each point's σ to
 * weight). Deterministic; no randomness.
 */
export function levenbergMarquardt(residual: (p: number[]) => number[], initial: readonly number[], o: BoundedLmOptions): NonlinearFit {
  const clamp = (p: number[]) => p.map((v, j) => Math.min(o.upper[j], Math.max(o.lower[j], v)));
  let p = clamp(initial.slice());
  let r = residual(p);
  let cost = r.reduce((s, v) => s + v * v, 0);
  let lambda = 1e-3;
  const maxIter = o.maxIterations ?? 200;
  const tol = o.tolerance ?? 1e-12;
  let iterations = 0;
  for (; iterations < maxIter; iterations++) {
    const jCols = jacobianAt(residual, p, r, o);
    const np = p.length;
    const jtj = Array.from({ length: np }, (_, a) => Array.from({ length: np }, (_, b) => jCols[a].reduce((s, v, i) => s + v * jCols[b][i], 0)));
    const jtr = jCols.map((c) => c.reduce((s, v, i) => s + v * r[i], 0));
    let improved = false;
    while (lambda < 1e12) {
      const damped = jtj.map((row, a) => row.map((v, b) => (a === b ? v + lambda * (v || 1) : v)));
      let delta: number[];
      try {
        const inv = invertSymmetric(damped, "levenberg-marquardt step");
        delta = inv.map((row) => -row.reduce((s, v, b) => s + v * jtr[b], 0));
      } catch {
        lambda *= 10;
        continue;
      }
      const pNew = clamp(p.map((v, j) => v + delta[j]));
      const rNew = residual(pNew);
      const costNew = rNew.reduce((s, v) => s + v * v, 0);
      if (costNew < cost) {
        const relDecrease = (cost - costNew) / Math.max(cost, 1e-300);
        p = pNew;
        r = rNew;
        cost = costNew;
        lambda = Math.max(lambda / 10, 1e-12);
        improved = relDecrease > tol;
        break;
      }
      lambda *= 10;
    }
    if (!improved) break;
  }
  const dof = r.length - p.length;
  const atBound = p.map((v, j) => v <= o.lower[j] || v >= o.upper[j]);
  let covariance: number[][] | null = null;
  const jCols = jacobianAt(residual, p, r, o);
  const jtj = p.map((_, a) => p.map((_, b) => jCols[a].reduce((s, v, i) => s + v * jCols[b][i], 0)));
  try {
    const sigma2 = dof > 0 ? cost / dof : 0;
    covariance = invertSymmetric(jtj, "levenberg-marquardt covariance").map((row) => row.map((v) => v * sigma2));
  } catch {
    covariance = null;
  }
  return { parameters: p, covariance, residuals: r, rss: cost, dof, iterations, atBound };
}

/**
 * Variance inflation for AR(1)-correlated residuals: (1 + ρ)/(1 − ρ) with ρ the lag-1 autocorrelation
 * (the effective-sample-size correction, e.g. Bayley & Hammersley 1946). White residuals give 1.
 */
export function ar1Inflation(residuals: readonly number[]): number {
  const n = residuals.length;
  const m = residuals.reduce((s, r) => s + r, 0) / n;
  let c0 = 0;
  let c1 = 0;
  for (let i = 0; i < n; i++) {
    c0 += (residuals[i] - m) ** 2;
    if (i > 0) c1 += (residuals[i] - m) * (residuals[i - 1] - m);
  }
  const rho = c0 > 0 ? Math.min(0.95, Math.max(0, c1 / c0)) : 0;
  return (1 + rho) / (1 - rho);
}
