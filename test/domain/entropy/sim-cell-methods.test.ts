import { describe, expect, it } from "vitest";
import { restTrace } from "../../../server/domain/entropy/dudt.ts";
import { estimateDudtFast } from "../../../server/domain/entropy/fast-estimator.ts";
import { estimateDudtPotentiometric } from "../../../server/domain/entropy/potentiometric-reference.ts";
import { createCell } from "../../../simulators/cell/sim-cell.ts";
import { secondLifeCells } from "../../../simulators/cell/population.ts";
import { createBench } from "../second-life/bench-loop.ts";

// Both methods on the same simulated second-life cells at the same SOC, against the simulator's hidden dU/dT.
describe("fast vs potentiometric dU/dT on simulated cells", () => {
  const specs = secondLifeCells({ seed: 5, count: 2, chemistry: "nmc811-graphite", serialPrefix: "EN" });
  for (const [k, spec] of specs.entries()) {
    for (const socTarget of [0.8, 0.3]) {
      it(`cell ${k + 1} at SOC ${socTarget}: both within 0.02 mV/K of truth and of each other; reference ≥ 5× longer`, () => {
        const cell = createCell({ ...spec, initialSoc: 1 });
        const bench = createBench(cell, 77 + k);
        const capacityAh = cell.truth().capacityAh;
        bench.run({ kind: "cc", currentA: -spec.freshCapacityAh / 3, forAh: (1 - socTarget) * capacityAh, dtS: 10 });
        bench.run({ role: "fast", kind: "rest", durationS: 7200, chamber: [[30, 1200], [20, 1200], [30, 1200], [20, 1200], [25, 2400]], dtS: 10 });
        const truthFast = cell.truth().dudtMvPerK;
        bench.run({ kind: "cc", currentA: -spec.freshCapacityAh / 3, forAh: 0.02 * capacityAh, dtS: 10 });
        bench.run({ role: "reference", kind: "rest", durationS: 13 * 3600, chamber: [[25, 4 * 3600], [15, 3 * 3600], [25, 3 * 3600], [35, 3 * 3600]], dtS: 60 });
        const truthRef = cell.truth().dudtMvPerK;
        const [fastRecords, refRecords] = bench.segments.map((s) => s.records);
        const fast = estimateDudtFast(restTrace(fastRecords, 1e-3, "fast"), "fast");
        const ref = estimateDudtPotentiometric(restTrace(refRecords, 1e-3, "reference"), "reference");
        expect(Math.abs(fast.dudtMvPerK - truthFast)).toBeLessThan(0.02);
        expect(Math.abs(fast.dudtMvPerK - truthFast)).toBeLessThan(3 * fast.dudtUncertaintyMvPerK);
        expect(Math.abs(ref.dudtMvPerK - truthRef)).toBeLessThan(0.02);
        // 2 % SOC apart: compare after removing the true change between the two SOCs
        expect(Math.abs(fast.dudtMvPerK - ref.dudtMvPerK - (truthFast - truthRef))).toBeLessThan(0.02);
        expect(ref.durationS / fast.durationS).toBeGreaterThanOrEqual(5);
      });
    }
  }
});
