import { describe, expect, it } from "vitest";
import { electrodeBalance } from "../../../server/domain/chemistry/electrode-balance.ts";
import { getChemistry } from "../../../server/domain/chemistry/registry.ts";
import { CELL_FORMATS, DEGRADATION_BOUNDS, newLot, secondLifeCells } from "../../../simulators/cell/population.ts";
import { createPrng } from "../../../simulators/cell/prng.ts";

const std = (v: number[]): number => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
};

describe("prng", () => {
  it("is deterministic and gives standard normals", () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const xs = Array.from({ length: 20000 }, () => a.normal(0, 1));
    expect(Array.from({ length: 20000 }, () => b.normal(0, 1))).toEqual(xs);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length)).toBeLessThan(0.03);
    expect(std(xs)).toBeCloseTo(1, 1);
  });
});

describe("newLot", () => {
  const base = { count: 2000, chemistry: "nmc811-graphite" as const, serialPrefix: "L7-", microShortRate: 0, highResistanceRate: 0 };

  it("is deterministic from the seed", () => {
    expect(newLot({ ...base, seed: 3 })).toEqual(newLot({ ...base, seed: 3 }));
    expect(newLot({ ...base, seed: 4 })).not.toEqual(newLot({ ...base, seed: 3 }));
  });

  it("spreads capacity (σ ≈ 0.7 %) and resistance (σ ≈ 2.5 %) around the format values", () => {
    const lot = newLot({ ...base, seed: 11 });
    const f = CELL_FORMATS["nmc811-graphite"];
    expect(std(lot.map((c) => c.freshCapacityAh / f.freshCapacityAh))).toBeCloseTo(0.007, 3);
    expect(std(lot.map((c) => c.r0Ohm / f.r0Ohm))).toBeCloseTo(0.025, 2);
    expect(lot[0].serial).toBe("L7-0001");
    expect(lot.every((c) => c.leakCurrentA > 1e-6 && c.leakCurrentA < 2e-4 && !c.microShort)).toBe(true);
  });

  it("flags exactly the explicit defect indices, with mA-range leaks and raised resistance", () => {
    const lot = newLot({ ...base, count: 50, seed: 5, microShortIndices: [3, 17], highResistanceIndices: [8] });
    expect(lot.flatMap((c, i) => (c.microShort ? [i] : []))).toEqual([3, 17]);
    expect(lot.flatMap((c, i) => (c.highResistance ? [i] : []))).toEqual([8]);
    for (const i of [3, 17]) expect(lot[i].leakCurrentA).toBeGreaterThanOrEqual(0.5e-3);
    expect(lot[8].r0Ohm).toBeGreaterThan(1.2 * CELL_FORMATS["nmc811-graphite"].r0Ohm);
    expect(() => newLot({ ...base, count: 5, seed: 1, microShortIndices: [5] })).toThrow(/index 5 outside 0..4/);
  });

  it("respects a defect rate within binomial spread", () => {
    const lot = newLot({ ...base, seed: 9, microShortRate: 0.05 });
    const shorts = lot.filter((c) => c.microShort).length;
    const sigma = Math.sqrt(2000 * 0.05 * 0.95);
    expect(Math.abs(shorts - 100)).toBeLessThan(4 * sigma);
  });
});

describe("secondLifeCells", () => {
  for (const chemistry of ["nmc811-graphite", "lfp-graphite"] as const) {
    it(`spans SOH 0.60–0.95 with mixed hidden degradation modes (${chemistry})`, () => {
      const cells = secondLifeCells({ seed: 21, count: 60, chemistry, serialPrefix: "SL-" });
      expect(secondLifeCells({ seed: 21, count: 60, chemistry, serialPrefix: "SL-" })).toEqual(cells);
      const chem = getChemistry(chemistry);
      const soh = cells.map((c) => electrodeBalance(chem, c.freshCapacityAh, c.ageing).capacityAh / c.freshCapacityAh);
      expect(Math.min(...soh)).toBeGreaterThanOrEqual(0.6 - 1e-4);
      expect(Math.min(...soh)).toBeLessThan(0.63);
      expect(Math.max(...soh)).toBeLessThanOrEqual(0.95 + 1e-4);
      expect(Math.max(...soh)).toBeGreaterThan(0.92);
      for (const { ageing } of cells) {
        expect(ageing.lli).toBeLessThanOrEqual(DEGRADATION_BOUNDS.lli);
        expect(ageing.lamNe).toBeLessThanOrEqual(DEGRADATION_BOUNDS.lamNe);
        expect(ageing.lamPe).toBeLessThanOrEqual(DEGRADATION_BOUNDS.lamPe);
        expect(ageing.resistanceGrowth).toBeGreaterThanOrEqual(0.1);
        expect(ageing.resistanceGrowth).toBeLessThanOrEqual(1.5);
      }
      const dominant = cells.map(({ ageing: a }) =>
        a.lli >= a.lamNe && a.lli >= a.lamPe ? "lli" : a.lamNe >= a.lamPe ? "lamNe" : "lamPe",
      );
      expect(new Set(dominant)).toEqual(new Set(["lli", "lamNe", "lamPe"]));
      // plating-risk pattern present: negative electrode full at top of charge
      expect(cells.some((c) => electrodeBalance(chem, c.freshCapacityAh, c.ageing).x100 > 0.999)).toBe(true);
    });
  }
});
