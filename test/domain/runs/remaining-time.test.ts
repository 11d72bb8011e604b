import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Program, Step } from "../../../server/domain/equipment/program.ts";
import { compilePhase, parseRecipeYaml } from "../../../server/domain/recipes/recipe.compiler.ts";
import { estimateRemainingTime, type ProgramPosition } from "../../../server/domain/runs/remaining-time.ts";

const Q_AH = 5;
const log = { everyS: 10 };
const safety = { maxVoltageV: 4.25, minVoltageV: 2.45, maxCurrentA: 10, maxTemperatureC: 60 };
const program = (id: string, steps: Step[]): Program => ({ id, steps, safety });
const at = (p: Partial<ProgramPosition> = {}): ProgramPosition => ({ stepIndex: 0, stepTimeS: 0, stepCapacityAh: 0, cycle: 1, currentA: 0, voltageV: 3.7, ...p });

const dischargeHalfC: Step = { mode: "cc", currentA: -2.5, ends: [{ on: "voltage", op: "<=", value: 2.5, then: "next" }], log };
const rest10min: Step = { mode: "rest", ends: [{ on: "time", op: ">=", value: 600, then: "next" }], log };

const estimate = (r: ReturnType<typeof estimateRemainingTime>) => {
  if (r.kind !== "estimate") throw new Error(`expected an estimate, got unknown: ${r.reason}`);
  return r;
};

describe("estimateRemainingTime on an ideal cell", () => {
  it("CC discharge at C/2 from 80 % SOC to the voltage cutoff: 0.8 × 5 Ah / 2.5 A = 1.6 h, then a 10 min rest", () => {
    const r = estimate(estimateRemainingTime({ programs: [program("p", [dischargeHalfC, rest10min])], position: at({ currentA: -2.5 }), nominalCapacityAh: Q_AH, socFraction: 0.8 }));
    expect(r.remainingS).toBeCloseTo(1.6 * 3600 + 600, 6);
    expect(r.boundedSteps).toBe(0);
    expect(r.socAtEndFraction).toBe(0);
  });

  it("the same discharge 20 min in (SOC now 0.8 − 2.5 A × 1/3 h / 5 Ah) has 20 min less to go", () => {
    const soc = 0.8 - (2.5 * (1200 / 3600)) / Q_AH;
    const r = estimate(estimateRemainingTime({ programs: [program("p", [dischargeHalfC, rest10min])], position: at({ stepTimeS: 1200, stepCapacityAh: 2.5 / 3, currentA: -2.5 }), nominalCapacityAh: Q_AH, socFraction: soc }));
    expect(r.remainingS).toBeCloseTo(1.6 * 3600 + 600 - 1200, 6);
  });

  it("with the SOC unknown a voltage end is bounded by a whole nominal capacity (Q − Ah moved) / |I|, and says so", () => {
    const r = estimate(estimateRemainingTime({ programs: [program("p", [dischargeHalfC])], position: at({ stepCapacityAh: 1 }), nominalCapacityAh: Q_AH }));
    expect(r.remainingS).toBeCloseTo(((Q_AH - 1) / 2.5) * 3600, 6);
    expect(r.boundedSteps).toBe(1);
  });

  it("a capacity end wins over a later voltage end: 20 % of 5 Ah at 2.5 A = 24 min", () => {
    const step: Step = { mode: "cc", currentA: -2.5, ends: [{ on: "capacity", op: ">=", value: 1, then: "next" }, { on: "voltage", op: "<=", value: 2.5, then: "next" }], log };
    const r = estimate(estimateRemainingTime({ programs: [program("p", [step])], position: at(), nominalCapacityAh: Q_AH, socFraction: 0.9 }));
    expect(r.remainingS).toBeCloseTo(1440, 6);
    expect(r.socAtEndFraction).toBeCloseTo(0.7, 9);
  });

  it("a loop of 3 cycles (goto 0, repeat 2) runs its block three times; from the middle of cycle 2 one and a half are left", () => {
    const p = program("loop", [
      { mode: "cc", currentA: -1, ends: [{ on: "time", op: ">=", value: 600, then: "next" }], log },
      { mode: "rest", ends: [{ on: "time", op: ">=", value: 300, then: { goto: 0, repeat: 2 } }], log },
    ]);
    expect(estimate(estimateRemainingTime({ programs: [p], position: at(), nominalCapacityAh: Q_AH })).remainingS).toBe(3 * 900);
    expect(estimate(estimateRemainingTime({ programs: [p], position: at({ stepTimeS: 100, cycle: 2 }), nominalCapacityAh: Q_AH })).remainingS).toBe(500 + 300 + 900);
    expect(estimate(estimateRemainingTime({ programs: [p], position: at({ stepIndex: 1, cycle: 3 }), nominalCapacityAh: Q_AH })).remainingS).toBe(300);
    const off = estimateRemainingTime({ programs: [p], position: at({ cycle: 4 }), nominalCapacityAh: Q_AH });
    expect(off.kind).toBe("unknown");
  });

  it("a CV hold ending on a current taper is bounded by its time end; a rest ending only on dV/dt is unknown", () => {
    const hold: Step = { mode: "cv", voltageV: 3.7, ends: [{ on: "current", op: "<=", value: 0.01, then: "next" }, { on: "time", op: ">=", value: 7200, then: "next" }], log };
    const r = estimate(estimateRemainingTime({ programs: [program("p", [hold])], position: at({ stepTimeS: 200 }), nominalCapacityAh: Q_AH }));
    expect(r.remainingS).toBe(7000);
    expect(r.boundedSteps).toBe(1);
    const settle: Step = { mode: "rest", ends: [{ on: "dVdt", op: "<=", value: 1e-6, then: "next" }], log };
    expect(estimateRemainingTime({ programs: [program("p", [settle])], position: at(), nominalCapacityAh: Q_AH }).kind).toBe("unknown");
  });

  it("a goto without a repeat count loops for ever: unknown", () => {
    const p = program("forever", [{ mode: "rest", ends: [{ on: "time", op: ">=", value: 1, then: { goto: 0 } }], log }]);
    expect(estimateRemainingTime({ programs: [p], position: at(), nominalCapacityAh: Q_AH }).kind).toBe("unknown");
  });

  it("a CCCV charge in its CV phase is bounded by its time end", () => {
    const cccv: Step = { mode: "cccv", currentA: 2.5, voltageV: 4.2, ends: [{ on: "current", op: "<=", value: 0.5, then: "next" }, { on: "time", op: ">=", value: 10_800, then: "next" }], log };
    const r = estimate(estimateRemainingTime({ programs: [program("p", [cccv])], position: at({ stepTimeS: 6000, currentA: 1.2, voltageV: 4.2 }), nominalCapacityAh: Q_AH, socFraction: 0.95 }));
    expect(r.remainingS).toBe(4800);
    expect(r.boundedSteps).toBe(1);
  });

  it("follows the SOC into later programs: after a discharge to the cutoff a CC charge to 4.2 V moves a whole capacity", () => {
    const charge: Step = { mode: "cc", currentA: 1, ends: [{ on: "voltage", op: ">=", value: 4.2, then: "next" }], log };
    const r = estimate(estimateRemainingTime({ programs: [program("a", [dischargeHalfC]), program("b", [charge])], position: at(), nominalCapacityAh: Q_AH, socFraction: 0.5 }));
    expect(r.remainingS).toBeCloseTo(3600 + 5 * 3600, 6);
    expect(r.boundedSteps).toBe(0);
    expect(r.socAtEndFraction).toBe(1);
  });
});

describe("estimateRemainingTime on shipped recipes (5 Ah cell, ideal)", () => {
  const cyclerLimits = { maxVoltageV: 5, minVoltageV: 0, maxCurrentA: 20, maxTemperatureC: 80 };
  const compiled = (name: string, phase: string) =>
    compilePhase(parseRecipeYaml(readFileSync(`station-config/recipes/${name}.yaml`, "utf8"), name), phase, { nominalCapacityAh: Q_AH, chemistry: "nmc811-graphite" }, cyclerLimits).program;

  it("quick_check capacity from 30 % SOC: CCCV C/2 1.4 h + 10 min + CC C/2 2 h + 10 min", () => {
    const r = estimate(estimateRemainingTime({ programs: [compiled("quick_check", "capacity")], position: at(), nominalCapacityAh: Q_AH, socFraction: 0.3 }));
    expect(r.remainingS).toBeCloseTo(1.4 * 3600 + 600 + 2 * 3600 + 600, 6);
  });

  it("factory_init formation phase from 30 % SOC: the C/3 capacity cycle loop (repeat steps 7-10 2 times) runs twice", () => {
    // 30 min rest · CCCV 0.1C (0.5 A) 0.7 × 5 Ah = 7 h · 1 h · CC 0.2C 5 h · 1 h · 2 × (C/3 charge 3 h + 30 min + C/3 discharge 3 h + 30 min)
    // · C/20 charge from empty 20 h (below its 24 h cap) · 1 h
    const expectedS = 1800 + 7 * 3600 + 3600 + 5 * 3600 + 3600 + 2 * (3 * 3600 + 1800 + 3 * 3600 + 1800) + 20 * 3600 + 3600;
    const r = estimate(estimateRemainingTime({ programs: [compiled("factory_init", "formation-capacity-ica")], position: at(), nominalCapacityAh: Q_AH, socFraction: 0.3 }));
    expect(r.remainingS).toBeCloseTo(expectedS, 1); // C/3 is rounded to 1.666667 A by the compiler
  });
});
