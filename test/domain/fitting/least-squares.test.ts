import { describe, expect, it } from "vitest";
import { FitError, levenbergMarquardt, linearLeastSquares } from "../../../server/domain/fitting/least-squares.ts";

describe("linearLeastSquares", () => {
  it("recovers an exact polynomial and the textbook covariance of a straight line", () => {
    const x = [0, 1, 2, 3, 4];
    const y = x.map((v) => 2 - 3 * v + 0.5 * v * v);
    const fit = linearLeastSquares([x.map(() => 1), x, x.map((v) => v * v)], y);
    expect(fit.coefficients[0]).toBeCloseTo(2, 10);
    expect(fit.coefficients[1]).toBeCloseTo(-3, 10);
    expect(fit.coefficients[2]).toBeCloseTo(0.5, 10);
    // straight line through x = 0..4: var(slope) = σ²/Sxx with Sxx = 10, var(intercept) = σ²·Σx²/(n·Sxx) = 30/50
    const line = linearLeastSquares([x.map(() => 1), x], [1, 3, 2, 5, 4]);
    expect(line.unscaledCovariance[1][1]).toBeCloseTo(0.1, 12);
    expect(line.unscaledCovariance[0][0]).toBeCloseTo(0.6, 12);
    expect(line.coefficients[1]).toBeCloseTo(0.8, 12); // Sxy / Sxx = 8 / 10
    expect(line.dof).toBe(3);
  });

  it("names a rank-deficient design", () => {
    const x = [1, 2, 3, 4];
    expect(() => linearLeastSquares([x, x.map((v) => 2 * v)], [1, 2, 3, 4])).toThrow(FitError);
  });
});

describe("levenbergMarquardt", () => {
  it("fits an exponential decay within bounds and reports σ²(JᵀJ)⁻¹", () => {
    const t = Array.from({ length: 40 }, (_, i) => i * 0.25);
    const y = t.map((v, i) => 3 * Math.exp(-v / 2) + (i % 2 === 0 ? 1e-3 : -1e-3));
    const fit = levenbergMarquardt((p) => t.map((v, i) => p[0] * Math.exp(-v / p[1]) - y[i]), [1, 5], {
      lower: [0, 0.1],
      upper: [10, 10],
      step: [1e-6, 1e-6],
    });
    expect(fit.parameters[0]).toBeCloseTo(3, 2);
    expect(fit.parameters[1]).toBeCloseTo(2, 2);
    expect(fit.covariance).not.toBeNull();
    expect(Math.sqrt(fit.covariance![0][0])).toBeLessThan(1e-3);
    expect(fit.atBound).toEqual([false, false]);
  });

  it("stops at a bound when the optimum lies outside", () => {
    const fit = levenbergMarquardt((p) => [p[0] - 5], [0], { lower: [-1], upper: [2], step: [1e-6] });
    expect(fit.parameters[0]).toBe(2);
    expect(fit.atBound).toEqual([true]);
  });
});
