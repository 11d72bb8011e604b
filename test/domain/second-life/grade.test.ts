import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { getChemistry } from "../../../server/domain/chemistry/registry.ts";
import { dudtAtSoc, electrodeBalance } from "../../../server/domain/chemistry/electrode-balance.ts";
import { analyseSecondLife } from "../../../server/domain/second-life/grade.ts";
import { routingRulesSchema } from "../../../server/domain/second-life/routing-rules.schema.ts";
import { createCell } from "../../../simulators/cell/sim-cell.ts";
import { secondLifeCells } from "../../../simulators/cell/population.ts";
import { createBench } from "./bench-loop.ts";

const rules = routingRulesSchema.parse(parse(readFileSync(new URL("../../../station-config/grading/second_life.yaml", import.meta.url), "utf8")));
const chem = getChemistry("nmc811-graphite");
const C = chem.nominalCapacityAh;
/** The fast recipe's chamber profile during each entropy rest, started with it (station-config/recipes/second_life.yaml). */
const PROFILE: [number, number][] = [[20, 1800], [30, 1200], [20, 1200], [30, 1200], [25, 2400]];
/** SOC steps: 6, 16, 16 % of nominal down from full; then to the cut-off and 12, 16 % of nominal up from empty. */
const SOC_STEPS: { currentA: number; forAh?: number; toV: number; thenChargeAh?: number }[] = [
  { currentA: -C / 3, forAh: 0.06 * C, toV: 2.5 },
  { currentA: -C / 3, forAh: 0.16 * C, toV: 2.5 },
  { currentA: -C / 3, forAh: 0.16 * C, toV: 2.5 },
  { currentA: -C / 3, toV: 2.5, thenChargeAh: 0.12 * C },
  { currentA: C / 3, forAh: 0.16 * C, toV: 4.2 },
];

/** The measurement sequence of station-config/recipes/second_life.yaml, step by step. */
function measure(seed: number, index: number, microShortIndices: number[] = []) {
  const spec = secondLifeCells({ seed, count: 3, chemistry: "nmc811-graphite", serialPrefix: "SL", microShortIndices })[index];
  const cell = createCell(spec);
  const bench = createBench(cell, seed * 10 + index);
  const charge = () => {
    bench.run({ kind: "cccv", currentA: C / 3, voltageV: 4.2, toV: 4.2, untilA: C / 20, dtS: 10 });
    bench.run({ kind: "rest", durationS: 3600, dtS: 30 });
  };
  charge();
  bench.run({ role: "capacity-discharge", kind: "cc", currentA: -C / 3, toV: 2.5, dtS: 10 });
  bench.run({ kind: "rest", durationS: 3600, dtS: 30 });
  charge();
  bench.run({ role: "pseudo-ocv", kind: "cc", currentA: -C / 20, toV: 2.5, dtS: 30 });
  bench.run({ kind: "rest", durationS: 3600, dtS: 30 });
  charge();
  SOC_STEPS.forEach((step, k) => {
    bench.run({ role: `entropy:p${k + 1}`, kind: "cc", currentA: step.currentA, forAh: step.forAh, toV: step.toV, dtS: 10 });
    if (step.thenChargeAh) bench.run({ role: `entropy:p${k + 1}`, kind: "cc", currentA: C / 3, forAh: step.thenChargeAh, toV: 4.2, dtS: 10 });
    bench.run({ role: `entropy:p${k + 1}`, kind: "rest", durationS: 7200, chamber: PROFILE, dtS: 10 });
  });
  bench.run({ kind: "cc", currentA: C / 3, forAh: 0.1 * C, toV: 4.2, dtS: 10 });
  bench.run({ kind: "rest", durationS: 3600, dtS: 10 });
  bench.run({ role: "dcir-rest", kind: "rest", durationS: 60, dtS: 1 });
  bench.run({ role: "dcir-pulse", kind: "pulse", segments: [{ currentA: -0.2 * C, durationS: 10 }, { currentA: -C, durationS: 1 }], dtS: 0.1 });
  bench.run({ kind: "rest", durationS: 6 * 3600, dtS: 30 });
  bench.run({ role: "hold", kind: "cv", voltageV: "rest-voltage", durationS: 6 * 3600, dtS: 10 });
  return { spec, truth: cell.truth(), segments: bench.segments };
}

describe("analyseSecondLife end to end on simulated second-life cells", () => {
  for (const index of [0, 1, 2]) {
    it(`cell ${index + 1}: SOH within 1.5 pp, modes within 3 pp, dU/dT within 0.02 mV/K of the hidden truth`, () => {
      const { truth, segments } = measure(42, index);
      const grade = analyseSecondLife(segments, { serial: truth.serial, chemistry: "nmc811-graphite", simulated: true }, chem, rules);
      expect(grade.simulated).toBe(true);
      // dQ/dV of the C/20 discharge: the graphite/NMC peaks lie inside the voltage window
      expect(grade.ica.peaks.length).toBeGreaterThan(0);
      for (const peak of grade.ica.peaks) {
        expect(peak.voltageV).toBeGreaterThan(3.3);
        expect(peak.voltageV).toBeLessThan(4.15);
      }
      expect(Math.abs(grade.soh.capacity.value - truth.sohCapacity)).toBeLessThan(0.015);
      expect(Math.abs(grade.modes.lli.value - truth.ageing.lli)).toBeLessThan(0.03);
      expect(Math.abs(grade.modes.lamNe.value - truth.ageing.lamNe)).toBeLessThan(0.03);
      expect(Math.abs(grade.modes.lamPe.value - truth.ageing.lamPe)).toBeLessThan(0.03);
      // every point inside 5–95 % SOC; dU/dT against the truth at the SOC the grade reports
      expect(grade.entropy.points.length + (grade.entropy.excluded?.length ?? 0)).toBe(5);
      expect(grade.entropy.points.length).toBeGreaterThanOrEqual(4);
      const trueBalance = electrodeBalance(chem, truth.freshCapacityAh, truth.ageing);
      for (const p of grade.entropy.points) {
        expect(p.soc).toBeGreaterThanOrEqual(0.05);
        expect(p.soc).toBeLessThanOrEqual(0.95);
        expect(Math.abs(p.dudtMvPerK - dudtAtSoc(chem, trueBalance, p.soc))).toBeLessThan(0.02);
      }
      // the hold follows a relaxed rest: the self-discharge current is the leak within a few µA
      expect(Math.abs(grade.selfDischargeMicroA!.value - truth.leakCurrentA * 1e6)).toBeLessThan(10);
      expect(Math.abs(grade.dcirMilliohm.value - truth.dcir10sOhm * 1000) / (truth.dcir10sOhm * 1000)).toBeLessThan(0.03);
      expect(grade.selfDischargeMicroA!.value).toBeLessThan(rules.safety.maxSelfDischargeMicroA);
      // every check is listed: 5 safety + 4 confidence + 2 per route
      expect(grade.route.reasons).toHaveLength(5 + 4 + 2 * rules.routes.length);
      // the plating screens decide as the hidden truth would
      const verdict = (rule: string) => grade.route.reasons.find((r) => r.rule === rule)?.passed;
      expect(verdict("safety.plating.maxLamNe")).toBe(truth.ageing.lamNe <= rules.safety.plating.maxLamNe);
      expect(verdict("safety.plating.maxLamNeOverLli")).toBe(truth.ageing.lamNe - truth.ageing.lli <= rules.safety.plating.maxLamNeOverLli);
      expect(verdict("safety.plating.maxNegStoichiometryAtFull")).toBe(trueBalance.x100 <= rules.safety.plating.maxNegStoichiometryAtFull);
      expect(verdict("safety.maxSelfDischargeMicroA")).toBe(true);
    });
  }

  it("with an imprint, SOH is against the cell's own fresh capacity and every delta is reported", () => {
    const { truth, segments } = measure(42, 2);
    const imprint = {
      capacityAh: { value: truth.freshCapacityAh, uncertainty: 0.005 },
      dcirMilliohm: { value: (truth.dcir10sOhm / (1 + truth.ageing.resistanceGrowth)) * 1000, uncertainty: 0.1 },
      icaPeaksV: [3.6, 3.75],
      entropyProfile: [{ soc: 0.5, dudtMvPerK: 0, dudtUncertaintyMvPerK: 0.005 }],
    };
    const grade = analyseSecondLife(segments, { serial: truth.serial, chemistry: "nmc811-graphite", simulated: true }, chem, rules, imprint);
    expect(grade.soh.reference).toBe("imprint");
    // the fresh-capacity spread no longer enters: SOH within 0.5 pp
    expect(Math.abs(grade.soh.capacity.value - truth.sohCapacity)).toBeLessThan(0.005);
    expect(Math.abs(grade.soh.resistance.resistanceGrowth.value - truth.ageing.resistanceGrowth)).toBeLessThan(0.05);
    expect(grade.comparison?.capacityFade?.value).toBeGreaterThan(1 - truth.sohCapacity - 0.02);
    expect(grade.comparison?.dcirIncrease?.value).toBeCloseTo(grade.soh.resistance.resistanceGrowth.value, 9);
    expect(grade.comparison?.entropyChange).toHaveLength(1);
  });

  it("a micro-shorted cell fails the self-discharge screen and is recycled", () => {
    const { truth, segments } = measure(42, 1, [1]);
    expect(truth.microShort).toBe(true);
    const grade = analyseSecondLife(segments, { serial: truth.serial, chemistry: "nmc811-graphite", simulated: true }, chem, rules);
    expect(grade.route.route).toBe("recycle");
    expect(grade.route.reasons.filter((r) => !r.passed && r.kind === "safety").map((r) => r.rule)).toEqual(["safety.maxSelfDischargeMicroA"]);
  });

  it("measures dU/dT by the method the recipe's analysis section names", () => {
    const { truth, segments } = measure(42, 0);
    const cell = { serial: truth.serial, chemistry: "nmc811-graphite" as const, simulated: true };
    expect(analyseSecondLife(segments, cell, chem, rules, undefined, { entropy: { rest: "entropy", method: "fast" } }).entropy.method).toBe("fast-relaxation-fit");
    // the fast recipe's 2 h rests hold no relaxed temperature plateaus: the potentiometric method refuses them
    expect(() => analyseSecondLife(segments, cell, chem, rules, undefined, { entropy: { rest: "entropy", method: "potentiometric" } })).toThrow(/relaxed temperature plateau/);
  });
});
