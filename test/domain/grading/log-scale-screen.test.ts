/** Self-discharge is lognormal across a lot: the outlier screen must catch micro-shorts without rejecting the healthy tail. */
import { describe, expect, it } from "vitest";
import { gradingRulesSchema } from "../../../server/domain/grading/grading-rules.schema.ts";
import { gradeLot, type GradableImprint } from "../../../server/domain/grading/lot-grading.ts";

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9): deterministic lot without a PRNG. */
function normalQuantile(p: number): number {
  const a = [-39.6968302866538, 220.946098424521, -275.928510446969, 138.357751867269, -30.6647980661472, 2.50662827745924];
  const b = [-54.4760987982241, 161.585836858041, -155.698979859887, 66.8013118877197, -13.2806815528857];
  const c = [-0.00778489400243029, -0.322396458041136, -2.40075827716184, -2.54973253934373, 4.37466414146497, 2.93816398269878];
  const d = [0.00778469570904146, 0.32246712907004, 2.445134137143, 3.75440866190742];
  const q = Math.min(p, 1 - p);
  const r = Math.sqrt(-2 * Math.log(q));
  const x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
  if (q > 0.02425) {
    const u = p - 0.5;
    const t = u * u;
    return ((((((a[0] * t + a[1]) * t + a[2]) * t + a[3]) * t + a[4]) * t + a[5]) * u) / (((((b[0] * t + b[1]) * t + b[2]) * t + b[3]) * t + b[4]) * t + 1);
  }
  return p < 0.5 ? x : -x;
}

const N = 200;
/** healthy leaks: lognormal, median 20 µA, σ_ln 0.4 (as the simulator's population), plus two micro-shorts at 1.5 and 2 mA */
const lot: GradableImprint[] = [
  ...Array.from({ length: N }, (_, i) => ({ serial: `H${i}`, holdCurrentMicroA: { value: 20 * Math.exp(0.4 * normalQuantile((i + 0.5) / N)), uncertainty: 1 } })),
  { serial: "MS1", holdCurrentMicroA: { value: 1500, uncertainty: 10 } },
  { serial: "MS2", holdCurrentMicroA: { value: 2000, uncertainty: 10 } },
];

const rules = (scale: "linear" | "log") =>
  gradingRulesSchema.parse({
    name: "t", version: "1.0.0",
    figures: { holdCurrentMicroA: { outlierK: 3, outlierSide: "high", outlierScale: scale, minSigma: 1 } },
    bins: { A: [], B: [] },
    matching: { capacityRelative: 0.005, dcirRelative: 0.02 },
  });

describe("log-scale outlier screen", () => {
  it("a linear screen rejects healthy cells from the lognormal tail (the reason it exists)", () => {
    const rejected = gradeLot(lot, rules("linear")).perCell.filter((c) => c.bin === "reject").map((c) => c.serial);
    expect(rejected.filter((s) => s.startsWith("H")).length).toBeGreaterThan(0);
  });

  it("on a log scale only the micro-shorts are rejected, with the limit in µA", () => {
    const grade = gradeLot(lot, rules("log"));
    const rejected = grade.perCell.filter((c) => c.bin === "reject");
    expect(rejected.map((c) => c.serial)).toEqual(["MS1", "MS2"]);
    const reason = rejected[0].reasons[0];
    expect(reason.rule).toBe("outlier");
    // limit = exp(ln 20 + 3·0.4) ≈ 66 µA (the robust σ of the log values recovers σ_ln = 0.4)
    expect(reason.limit).toBeGreaterThan(60);
    expect(reason.limit).toBeLessThan(72);
    expect(reason.message).toMatch(/on a log scale/);
  });
});
