import { describe, expect, it } from "vitest";
import { median, medianAbsoluteDeviation, outlierIndices, percentile, robustSigma, robustZScores } from "../../../server/domain/grading/lot-statistics.ts";

describe("robust lot statistics", () => {
  const xs = [1, 2, 3, 4, 100];
  it("median and MAD of a known list", () => {
    expect(median(xs)).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    // |x − 3| = 2,1,0,1,97 → median 1
    expect(medianAbsoluteDeviation(xs)).toBe(1);
    expect(robustSigma(xs)).toBeCloseTo(1.4826, 12);
    expect(robustSigma([5, 5, 5], 0.1)).toBe(0.1);
  });
  it("robust z and outliers by side", () => {
    expect(robustZScores(xs)).toEqual([-2 / 1.4826, -1 / 1.4826, 0, 1 / 1.4826, 97 / 1.4826]);
    expect(outlierIndices(xs, 3)).toEqual([4]);
    expect(outlierIndices(xs, 3, "low")).toEqual([]);
    expect(outlierIndices([10, 10, 10, 0], 3, "low", 0.5)).toEqual([3]);
  });
  it("percentiles interpolate between order statistics", () => {
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5], 75)).toBe(4);
    expect(percentile([10, 20], 25)).toBe(12.5);
  });
  it("a single far value does not move the median or σ much (unlike mean and SD)", () => {
    const lot = Array.from({ length: 99 }, (_, i) => 5 + 0.01 * ((i % 9) - 4));
    const sigma0 = robustSigma(lot);
    expect(robustSigma([...lot, 50])).toBeLessThan(sigma0 * 1.05);
    expect(median([...lot, 50])).toBeCloseTo(5, 9);
  });
});
