import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { programSchema, type Limits } from "../../../server/domain/equipment/program.ts";
import {
  compilePhase, compileRecipe, parseRecipe, parseRecipeYaml, phasesNeedingRestVoltage, RecipeError,
} from "../../../server/domain/recipes/recipe.compiler.ts";

const CYCLER: Limits = { maxVoltageV: 5, minVoltageV: 0, maxCurrentA: 10, maxTemperatureC: 70 };
const CELL = { nominalCapacityAh: 5, chemistry: "nmc811-graphite" as const };

const base = (phases: unknown, extra: Record<string, unknown> = {}) => ({
  name: "t", version: "1.2.0", kind: "imprint",
  safety: { maxVoltageV: 4.25, minVoltageV: 2.5, maxCurrent: "2C", maxTemperatureC: 55 },
  phases, ...extra,
});

describe("compileRecipe", () => {
  it("resolves C-rates, loops to goto+repeat and gives the exact schema-valid Program", () => {
    const recipe = parseRecipe(base([{
      name: "cycle",
      chamber: { setpointC: 25 },
      steps: [
        "log every 30 s",
        { step: "CCCV charge C/2 to 4.2 V until C/20", role: "capacity-charge" },
        "rest 10 min",
        { step: "CC discharge 1C to 2.5 V log on 2 mV", role: "capacity-discharge" },
        "repeat steps 2-4 3 times",
        "discharge 2 A for 50% capacity",
      ],
    }]));
    const compiled = compileRecipe(recipe, CELL, CYCLER);
    const phase = compiled.phases[0];
    expect(phase.program).toEqual({
      id: "t@1.2.0/cycle",
      safety: { maxVoltageV: 4.25, minVoltageV: 2.5, maxCurrentA: 10, maxTemperatureC: 55 },
      steps: [
        { mode: "cccv", label: "CCCV charge C/2 to 4.2 V until C/20", currentA: 2.5, voltageV: 4.2,
          ends: [{ on: "current", op: "<=", value: 0.25, then: "next" }], log: { everyS: 30 } },
        { mode: "rest", label: "rest 10 min", ends: [{ on: "time", op: ">=", value: 600, then: "next" }], log: { everyS: 30 } },
        { mode: "cc", label: "CC discharge 1C to 2.5 V log on 2 mV", currentA: -5,
          ends: [{ on: "voltage", op: "<=", value: 2.5, then: { goto: 0, repeat: 2 } }], log: { everyS: 30, deltaV: 0.002 } },
        { mode: "cc", label: "discharge 2 A for 50% capacity", currentA: -2,
          ends: [{ on: "capacity", op: ">=", value: 2.5, then: "next" }], log: { everyS: 30 } },
      ],
    });
    expect(programSchema.safeParse(phase.program).success).toBe(true);
    expect(phase.roles).toEqual([{ stepIndex: 0, role: "capacity-charge" }, { stepIndex: 2, role: "capacity-discharge" }]);
    expect(phase.chamber).toEqual({ kind: "setpoint", setpointC: 25, waitStable: true });
    expect(compiled).toMatchObject({ recipeName: "t", recipeVersion: "1.2.0", kind: "imprint" });
  });

  it("loop N from step k: the block runs N times in total (N-1 jumps)", () => {
    const r = parseRecipe(base([{ name: "p", steps: ["rest 1 min", "CC charge 1C for 1 min", "CC discharge 1C for 1 min", "loop 4 from step 2"] }]));
    const steps = compileRecipe(r, CELL, CYCLER).phases[0].program.steps;
    expect(steps[2].ends[0].then).toEqual({ goto: 1, repeat: 3 });
  });

  it("a C-rate scales with the cell's nominal capacity", () => {
    const r = parseRecipe(base([{ name: "p", steps: ["CC charge 0.5C to 4.2 V", "discharge pulse 0.2C for 10 s then 1C for 1 s"] }]));
    const steps = compileRecipe(r, { ...CELL, nominalCapacityAh: 3 }, CYCLER).phases[0].program.steps;
    expect(steps[0].currentA).toBeCloseTo(1.5, 12);
    expect(steps[1].segments).toEqual([{ currentA: -0.6, durationS: 10 }, { currentA: -3, durationS: 1 }]);
  });

  it("CV hold at OCV needs the rest voltage at compile time", () => {
    const r = parseRecipe(base([{ name: "rest", steps: ["rest 1 h"] }, { name: "hold", steps: ["CV hold at OCV for 12 h"] }]));
    expect(phasesNeedingRestVoltage(r)).toEqual(["hold"]);
    expect(() => compileRecipe(r, CELL, CYCLER)).toThrow(/recipe t v1.2.0, phase "hold", step 1 \("CV hold at OCV for 12 h"\): holds at the rest voltage/);
    expect(compilePhase(r, "hold", CELL, CYCLER, { restVoltageV: 3.6512345 }).program.steps[0].voltageV).toBe(3.651235);
  });

  it("errors name recipe, phase, step and field", () => {
    const bad = (steps: unknown[], extra = {}) => () => parseRecipe(base([{ name: "formation", steps }], extra));
    expect(bad(["rest 1 h", "rest 1 h", "CC charge 0.1 to 4.2 V"])).toThrow(
      'recipe t v1.2.0, phase "formation", step 3 ("CC charge 0.1 to 4.2 V"): current must be a C-rate like 0.1C or C/3, or a current like 0.5 A (got "0.1")',
    );
    expect(bad(["rest 1 h", "loop 2 from step 3"])).toThrow(/step 2 \("loop 2 from step 3"\): from must name an earlier step/);
    expect(bad(["rest 1 h", "rest 2 h", "repeat steps 1-1 2 times"])).toThrow(/the loop must directly follow the block's last step/);
    expect(bad(["rest 1 h", "rest 2 h", "loop 2 from step 1", "rest 1 h", "loop 2 from step 2"])).toThrow(/loops may not nest or overlap/);
    expect(bad(["rest 1 h"], { analysis: { dcir: { rest: "dcir-rest", pulse: "dcir-pulse" } } })).toThrow(/analysis.dcir.rest refers to a step tagged "dcir-rest"/);
    const caught = (() => {
      try {
        bad(["CC charge 1C to 4.2 V", "CC discharge 1C for 1 hr-ish"])();
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(caught).toBeInstanceOf(RecipeError);
    expect(caught).toMatchObject({ phase: "formation", stepNumber: 2, field: "for" });
    expect(() => parseRecipe({ ...base([]), version: "1.2" })).toThrow(/version: a semantic version/);
  });

  it("refuses setpoints beyond the recipe's safety limits and limits beyond the cycler's", () => {
    const r = (steps: string[], safety?: object) => parseRecipe(base([{ name: "p", steps }], safety ? { safety } : {}));
    expect(() => compileRecipe(r(["CC charge 3C to 4.2 V"]), CELL, CYCLER)).toThrow(/step 1 .*current 15 A exceeds the recipe's safety.maxCurrent 10 A/);
    expect(() => compileRecipe(r(["CCCV charge 1C to 4.3 V until C/20"]), CELL, CYCLER)).toThrow(/to 4.3 V is outside the safety window 2.5–4.25 V/);
    expect(() => compileRecipe(r(["rest 1 h"]), CELL, { ...CYCLER, maxCurrentA: 5 })).toThrow(/safety.maxCurrent 10 A is above the cycler's limit 5 A/);
    expect(() => compileRecipe(r(["rest 1 h"], { maxVoltageV: 4.25, minVoltageV: 2.5, maxCurrent: "1C", maxTemperatureC: 90 }), CELL, CYCLER))
      .toThrow(/safety.maxTemperatureC 90 °C is above the cycler's limit 70 °C/);
    const lfp = parseRecipe(base([{ name: "p", steps: ["rest 1 h"] }], { chemistry: "lfp-graphite" }));
    expect(() => compileRecipe(lfp, CELL, CYCLER)).toThrow(/is written for lfp-graphite cells, not nmc811-graphite/);
    const pulseEnd = parseRecipe(base([{ name: "p", steps: ["rest 1 min", "pulse 1C for 1 s", "loop 2 from step 1"] }]));
    expect(() => compileRecipe(pulseEnd, CELL, CYCLER)).toThrow(/has no end condition to loop from: add a rest after it/);
  });
});

describe("station-config/recipes/factory_init.yaml", () => {
  const path = fileURLToPath(new URL("../../../station-config/recipes/factory_init.yaml", import.meta.url));
  const recipe = parseRecipeYaml(readFileSync(path, "utf8"), "factory_init.yaml");

  it("loads and compiles into schema-valid programs for a 5 Ah cell", () => {
    expect(phasesNeedingRestVoltage(recipe)).toEqual(["hold"]);
    const compiled = compileRecipe(recipe, CELL, CYCLER, { restVoltageV: 3.68 });
    expect(compiled.phases.map((p) => p.name)).toEqual([
      "formation-capacity-ica", "soc80", "entropy-soc80", "soc50", "entropy-soc50", "dcir", "self-discharge", "hold", "soc20", "entropy-soc20", "storage",
    ]);
    for (const p of compiled.phases) {
      expect(programSchema.safeParse(p.program).success).toBe(true);
      expect(p.program.id).toBe(`factory_init@1.1.0/${p.name}`);
    }
    const byName = Object.fromEntries(compiled.phases.map((p) => [p.name, p]));
    const pulse = byName.dcir.program.steps[byName.dcir.roles.find((r) => r.role === "dcir-pulse")!.stepIndex];
    expect(pulse.segments).toEqual([{ currentA: -1, durationS: 10 }, { currentA: -5, durationS: 1 }]);
    const first = byName["formation-capacity-ica"];
    const ica = first.program.steps[first.roles.find((r) => r.role === "ica-charge")!.stepIndex];
    expect(ica).toMatchObject({ mode: "cc", currentA: 0.25 });
    // the two capacity cycles loop back to the C/3 charge, then the program runs on into the C/20 charge
    const capacityCharge = first.roles.find((r) => r.role === "capacity-charge")!.stepIndex;
    const loopBack = first.program.steps[capacityCharge + 3].ends.find((e) => typeof e.then === "object");
    expect(loopBack?.then).toEqual({ goto: capacityCharge, repeat: 1 });
    expect(byName.hold.program.steps[0]).toMatchObject({ mode: "cv", voltageV: 3.68 });
    expect(byName["entropy-soc50"].chamber).toMatchObject({ kind: "profile" });
    const roles = compiled.phases.flatMap((p) => p.roles.map((r) => r.role));
    expect(roles).toEqual(expect.arrayContaining(["formation-charge", "capacity-discharge", "dcir-rest", "ocv-rest", "self-discharge-rest", "self-discharge-hold", "ica-charge", "entropy:soc80", "entropy:soc50", "entropy:soc20"]));
    expect(compiled.grading).toBe("factory_init");
  });
});
