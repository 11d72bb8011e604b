import { describe, expect, it } from "vitest";
import { programLimitViolations } from "../../../server/domain/equipment/program-limits.ts";
import type { Limits, Program } from "../../../server/domain/equipment/program.ts";

const instrument: Limits = { maxVoltageV: 5, minVoltageV: 0, maxCurrentA: 10, maxTemperatureC: 60, minTemperatureC: -20 };
const fits: Program = {
  id: "p",
  steps: [
    { mode: "cccv", currentA: 10, voltageV: 4.2, ends: [{ on: "current", op: "<=", value: 0.1, then: "next" }], log: { everyS: 1 } },
    { mode: "cp", powerW: -50, ends: [{ on: "voltage", op: "<=", value: 2.5, then: "next" }], log: { everyS: 1 } },
    { mode: "pulse", segments: [{ currentA: -10, durationS: 1 }, { powerW: 50, durationS: 0.01 }], ends: [], log: { everyS: 1 } },
  ],
  safety: { maxVoltageV: 4.3, minVoltageV: 2.4, maxCurrentA: 10, maxTemperatureC: 60 },
};

describe("programLimitViolations", () => {
  it("accepts a program exactly at the instrument's limits (10 A, 5 V × 10 A = 50 W)", () => {
    expect(programLimitViolations(fits, instrument)).toEqual([]);
  });

  it("names every field beyond the instrument, with both values and units", () => {
    const over: Program = {
      ...fits,
      steps: [
        { ...fits.steps[0], currentA: -10.5, voltageV: 5.1 },
        { ...fits.steps[1], powerW: 50.01 },
        { ...fits.steps[2], segments: [{ currentA: 11, durationS: 1 }] },
      ],
      safety: { ...fits.safety, minTemperatureC: -30, maxCapacityAh: 6 },
    };
    expect(programLimitViolations(over, instrument)).toEqual([
      "program.safety.minTemperatureC: -30 degC is below the instrument's minTemperatureC -20 degC",
      "program.steps.0.currentA: 10.5 A exceeds the instrument's maxCurrentA 10 A",
      "program.steps.0.voltageV: 5.1 V exceeds the instrument's maxVoltageV 5 V",
      "program.steps.1.powerW: 50.01 W exceeds the instrument's power envelope 50 W",
      "program.steps.2.segments.0.currentA: 11 A exceeds the instrument's maxCurrentA 10 A",
    ]);
  });
});
