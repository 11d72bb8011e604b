import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { gradingRulesSchema } from "../../../server/domain/grading/grading-rules.schema.ts";
import { median, robustSigma } from "../../../server/domain/grading/lot-statistics.ts";
import { gradeLot, type GradableImprint } from "../../../server/domain/grading/lot-grading.ts";
import { matchCells } from "../../../server/domain/grading/matching.ts";

const rules = gradingRulesSchema.parse(parse(readFileSync(fileURLToPath(new URL("../../../station-config/grading/factory_init.yaml", import.meta.url)), "utf8")));
const m = (value: number) => ({ value, uncertainty: 0 });

/** A lot of 40 good cells with deterministic spread (each figure spread evenly over ±1.5 σ, in different orders). */
function goodLot(): GradableImprint[] {
  const n = 40;
  const spread = (i: number, stride: number) => (((i * stride) % n) / (n - 1)) * 3 - 1.5;
  return Array.from({ length: n }, (_, i) => ({
    serial: `C${String(i).padStart(3, "0")}`,
    capacityAh: m(5.0 + 0.02 * spread(i, 1)),
    coulombicEfficiency: m(0.998 + 0.0004 * spread(i, 7)),
    dcirMilliohm: m(25 + 0.5 * spread(i, 11)),
    r10sMilliohm: m(28 + 0.5 * spread(i, 13)),
    ocvV: m(3.68 + 0.003 * spread(i, 17)),
    kValueMvPerDay: m(0.3 + 0.05 * spread(i, 19)),
    holdCurrentMicroA: m(8 + 1 * spread(i, 23)),
  }));
}

describe("gradeLot", () => {
  const lot = goodLot();
  lot[3] = { ...lot[3], kValueMvPerDay: m(2.5), holdCurrentMicroA: m(300) };   // micro-short
  lot[17] = { ...lot[17], kValueMvPerDay: m(0.7) };                              // micro-short within spec, lot outlier
  lot[25] = { ...lot[25], dcirMilliohm: m(32) };                                 // high resistance within spec, outlier
  const graded = gradeLot(lot, rules);
  const bySerial = Object.fromEntries(graded.perCell.map((g) => [g.serial, g]));

  it("rejects the two high-K cells and the high-R cell with the right reasons, and no good cell", () => {
    expect(graded.perCell.filter((g) => g.bin === "reject").map((g) => g.serial).sort()).toEqual(["C003", "C017", "C025"]);
    expect(bySerial.C003.reasons.map((r) => `${r.figure}/${r.rule}`).sort()).toEqual([
      "holdCurrentMicroA/outlier", "holdCurrentMicroA/spec-max", "kValueMvPerDay/outlier", "kValueMvPerDay/spec-max",
    ]);
    expect(bySerial.C017.reasons.map((r) => `${r.figure}/${r.rule}`)).toEqual(["kValueMvPerDay/outlier"]);
    expect(bySerial.C025.reasons.map((r) => `${r.figure}/${r.rule}`)).toEqual(["dcirMilliohm/outlier"]);
    const k = bySerial.C017.reasons[0];
    expect(k).toMatchObject({ value: 0.7, unit: "mV/day" });
    // the shipped rules screen K-values on a log scale: limit = exp(median + 3·robust σ of ln K), σ ≥ minLogSigma
    const logs = lot.map((c) => Math.log(Math.max(c.kValueMvPerDay!.value, rules.figures.kValueMvPerDay!.minSigma)));
    const expected = Math.exp(median(logs) + 3 * robustSigma(logs, rules.figures.kValueMvPerDay!.minLogSigma));
    expect(k.limit).toBeCloseTo(expected, 12);
    expect(k.message).toMatch(/kValueMvPerDay 0.700 mV\/day is .* σ above the lot median/);
  });

  it("a cell failing several figures lists every one", () => {
    const bad = gradeLot([...goodLot(), { ...goodLot()[0], serial: "BAD", capacityAh: m(4.7), dcirMilliohm: m(40), ocvV: null }], rules);
    const g = bad.perCell.find((c) => c.serial === "BAD")!;
    expect(g.bin).toBe("reject");
    expect(g.reasons.map((r) => `${r.figure}/${r.rule}`).sort()).toEqual([
      "capacityAh/outlier", "capacityAh/spec-min", "dcirMilliohm/outlier", "dcirMilliohm/spec-max", "ocvV/missing",
    ]);
  });

  it("bins by the lot statistics: A within 1.5 σ capacity and ≤ P75 DCIR; B and C list what they missed", () => {
    const nonRejected = graded.perCell.filter((g) => g.bin !== "reject");
    expect(nonRejected).toHaveLength(37);
    for (const g of nonRejected) {
      if (g.bin === "A") expect(g.reasons).toEqual([]);
      else expect(g.reasons.some((r) => r.rule === "bin-A")).toBe(true);
      if (g.bin === "C") expect(g.reasons.some((r) => r.rule === "bin-B")).toBe(true);
    }
    const p75 = [...lot.map((c) => c.dcirMilliohm!.value)].sort((a, b) => a - b);
    const highR = nonRejected.filter((g) => lot.find((c) => c.serial === g.serial)!.dcirMilliohm!.value > p75[Math.floor(0.75 * 39)] + 1e-9 && g.bin === "A");
    expect(highR).toEqual([]);
    expect(nonRejected.filter((g) => g.bin === "A").length).toBeGreaterThan(20);
  });

  it("matching groups respect the tolerances, stay within a bin and exclude rejects", () => {
    const value = (serial: string) => lot.find((c) => c.serial === serial)!;
    expect(graded.matchingGroups.length).toBeGreaterThan(0);
    for (const group of graded.matchingGroups) {
      expect(group.length).toBeGreaterThanOrEqual(2);
      const caps = group.map((s) => value(s).capacityAh!.value);
      const rs = group.map((s) => value(s).dcirMilliohm!.value);
      expect(Math.max(...caps) / Math.min(...caps) - 1).toBeLessThanOrEqual(0.005 + 1e-12);
      expect(Math.max(...rs) / Math.min(...rs) - 1).toBeLessThanOrEqual(0.02 + 1e-12);
      expect(new Set(group.map((s) => bySerial[s].bin)).size).toBe(1);
      expect(group.some((s) => bySerial[s].bin === "reject")).toBe(false);
    }
    const all = [...graded.matchingGroups.flat(), ...graded.unmatched];
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(37);
  });
});

describe("matchCells", () => {
  const cells = [
    { serial: "a", capacityAh: 5.0, dcirMilliohm: 25.0 },
    { serial: "b", capacityAh: 5.01, dcirMilliohm: 25.3 },
    { serial: "c", capacityAh: 5.02, dcirMilliohm: 26.0 }, // within 0.5 % of a, but 4 % DCIR off
    { serial: "d", capacityAh: 5.03, dcirMilliohm: 26.2 },
    { serial: "e", capacityAh: 5.2, dcirMilliohm: 25.0 }, // alone
  ];
  it("groups by capacity then DCIR window, deterministically", () => {
    const tol = { capacityRelative: 0.005, dcirRelative: 0.02, minGroupSize: 2 };
    const m = matchCells(cells, tol);
    expect(m).toEqual({ groups: [["a", "b"], ["c", "d"]], unmatched: ["e"] });
    expect(matchCells([...cells].reverse(), tol)).toEqual(m);
  });
});
