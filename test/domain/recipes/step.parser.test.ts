import { describe, expect, it } from "vitest";
import { parseStep, StepSyntaxError, type StepSpec } from "../../../server/domain/recipes/step.parser.ts";

const spec = (text: string): StepSpec => parseStep(text).spec;
const fieldOf = (text: string): string => {
  try {
    parseStep(text);
  } catch (e) {
    if (e instanceof StepSyntaxError) return `${e.field}: ${e.message}`;
    throw e;
  }
  throw new Error(`"${text}" parsed without error`);
};

describe("step shorthand", () => {
  it("CCCV charge with C-rate, CV voltage and cutoff current", () => {
    expect(spec("CCCV charge 0.1C to 4.2 V until 0.02C")).toEqual({
      kind: "step", mode: "cccv", sign: 1, log: undefined,
      current: { value: 0.1, per: "nominal" }, voltageV: 4.2,
      ends: [{ on: "current", op: "<=", amount: { value: 0.02, per: "nominal" } }],
    });
  });
  it("CC discharge C/3 to 2.5 V: negative sign, voltage end <=", () => {
    const s = spec("CC discharge C/3 to 2.5 V");
    expect(s).toMatchObject({ mode: "cc", sign: -1, ends: [{ on: "voltage", op: "<=", amount: { value: 2.5 } }] });
    if (s.kind === "step") expect(s.current?.value).toBeCloseTo(1 / 3, 12);
  });
  it("CC charge for a duration; currents in A and mA", () => {
    expect(spec("CC charge 0.5C for 30 min")).toMatchObject({ sign: 1, ends: [{ on: "time", op: ">=", amount: { value: 1800 } }] });
    expect(spec("CC charge 2 A to 4.1 V")).toMatchObject({ current: { value: 2, per: "absolute" } });
    expect(spec("CC charge 500 mA to 4.1 V")).toMatchObject({ current: { value: 0.5, per: "absolute" } });
  });
  it("rest forms: duration, log rule, dV/dt criterion", () => {
    expect(spec("rest 30 min")).toMatchObject({ mode: "rest", ends: [{ on: "time", amount: { value: 1800 } }] });
    expect(spec("rest 4 h log every 10 s")).toMatchObject({ ends: [{ on: "time", amount: { value: 14400 } }], log: { everyS: 10 } });
    const dvdt = spec("rest until dV/dt < 0.1 mV/h");
    expect(dvdt).toMatchObject({ mode: "rest", ends: [{ on: "dVdt", op: "<=" }] });
    if (dvdt.kind === "step") expect(dvdt.ends[0].amount.value).toBeCloseTo(0.1e-3 / 3600, 15);
  });
  it("CV hold at a voltage or at the rest OCV", () => {
    expect(spec("CV hold 3.6 V for 24 h")).toMatchObject({ mode: "cv", voltageV: 3.6, ends: [{ on: "time", amount: { value: 86400 } }] });
    expect(spec("CV hold at OCV for 12 h")).toMatchObject({ mode: "cv", voltageV: "rest-voltage" });
  });
  it("CP discharge: signed power", () => {
    expect(spec("CP discharge 10 W to 2.5 V")).toMatchObject({ mode: "cp", sign: -1, powerW: -10, ends: [{ on: "voltage", op: "<=" }] });
  });
  it("pulses: charge by default, discharge when written, with segments", () => {
    expect(spec("pulse 0.2C for 10 s then 1C for 1 s")).toMatchObject({
      mode: "pulse", sign: 1, ends: [],
      segments: [{ current: { value: 0.2, per: "nominal" }, durationS: 10 }, { current: { value: 1, per: "nominal" }, durationS: 1 }],
    });
    expect(spec("discharge pulse 0.2C for 10 s then 1C for 1 s to 2.5 V log every 0.1 s")).toMatchObject({
      sign: -1, ends: [{ on: "voltage", op: "<=", amount: { value: 2.5 } }], log: { everyS: 0.1 },
    });
  });
  it("OCV measure", () => {
    expect(spec("OCV measure 60 s")).toMatchObject({ mode: "ocv", ends: [{ on: "time", amount: { value: 60 } }] });
  });
  it("loops in both spellings", () => {
    expect(spec("loop 3 from step 2")).toEqual({ kind: "loop", times: 3, fromStep: 2, throughStep: undefined });
    expect(spec("repeat steps 2-4 3 times")).toEqual({ kind: "loop", times: 3, fromStep: 2, throughStep: 4 });
  });
  it("SOC setting by capacity share, or by Ah", () => {
    expect(spec("discharge 0.5C for 50% capacity")).toMatchObject({ mode: "cc", sign: -1, ends: [{ on: "capacity", op: ">=", amount: { value: 0.5, per: "nominal" } }] });
    expect(spec("charge 1 A for 2.5 Ah")).toMatchObject({ ends: [{ on: "capacity", amount: { value: 2.5, per: "absolute" } }] });
  });
  it("logging directives", () => {
    expect(spec("log every 1 s")).toEqual({ kind: "log", log: { everyS: 1 } });
    expect(spec("log on 1 mV")).toEqual({ kind: "log", log: { deltaV: 0.001 } });
    expect(spec("log every 2 s on 1 mV and 10 mA")).toEqual({ kind: "log", log: { everyS: 2, deltaV: 0.001, deltaI: 0.01 } });
  });
  it("object form gives the same spec as the shorthand, and carries the role", () => {
    const o = parseStep({ mode: "cccv", direction: "charge", current: "0.1C", to: "4.2 V", until: "0.02C", role: "formation-charge" });
    expect(o.role).toBe("formation-charge");
    expect(o.spec).toEqual(spec("CCCV charge 0.1C to 4.2 V until 0.02C"));
    expect(parseStep({ step: "rest 30 min", role: "ocv-rest" })).toMatchObject({ role: "ocv-rest", text: "rest 30 min" });
    expect(parseStep({ mode: "pulse", direction: "discharge", segments: [{ current: "0.2C", for: "10 s" }, { current: "1C", for: "1 s" }] }).spec)
      .toEqual(spec("discharge pulse 0.2C for 10 s then 1C for 1 s"));
  });
});

describe("malformed steps name the field", () => {
  it.each([
    ["CC charge 0.1 to 4.2 V", /^current: current must be a C-rate like 0.1C/],
    ["CC charge 0.5C", /^to: a CC step needs an end/],
    ["CC 0.5C to 4.2 V", /^mode: unknown step/],
    ["CCCV charge 0.5C until 0.05C", /^to: a CCCV step needs its CV voltage/],
    ["CCCV charge 0.5C to 4.2", /^to: to must be a voltage/],
    ["CCCV charge 0.5C to 4.2 V", /^until: a CCCV step needs an end/],
    ["CC discharge 1C until 0.05C", /^until: until does not apply to a cc step/],
    ["CV hold 3.6 V until dV/dt < 1 mV/h", /^until: until dV\/dt ends a rest step only/],
    ["rest", /^for: a rest needs a duration/],
    ["rest 30 minutes-ish", /^for: for must be a duration/],
    ["rest 10 min for 5 min", /^for: rest duration is given twice/],
    ["rest 5 min to 4 V", /^to: to does not apply to a rest step/],
    ["OCV measure", /^for: an OCV measurement needs a duration/],
    ["CP discharge 10 to 2.5 V", /^power: power must be a power like 10 W/],
    ["pulse 0.2C then 1C for 1 s", /^segments\[1\]: segments\[1\] "0.2C" must read "<current> for <duration>"/],
    ["discharge pulse 0.2C for 10 s then 1X for 1 s", /^segments\[2\]\.current:/],
    ["discharge pulse 0.2C for 10 parsecs", /^segments\[1\]\.for:/],
    ["loop 1 from step 2", /^times: times must be a whole number ≥ 2/],
    ["loop 2.5 from step 1", /^times: times must be a whole number/],
    ["loop 3 from step 0", /^from: from must be a step number ≥ 1/],
    ["repeat steps 4-2 3 times", /^through: through must be a step number ≥ from/],
    ["log every", /^log: log must read like/],
    ["log on 3 parsecs", /^log: log "on 3 parsecs" must be a voltage change/],
    ["rest 10 min log hourly", /^log: log must read like/],
    ["CC charge 1C to 4.2 V to 4.1 V", /^to: "to" is given twice/],
    ["CC charge 1C for 0 s", /^for: for must be longer than zero/],
    ["rest 5 min then rest 5 min", /^mode: "then" chains pulse segments only/],
    ["CV hold for 1 h", /^voltage: a CV hold needs a voltage/],
    ["rest 30 min for 50% capacity", /^for: rest duration is given twice/],
    ["OCV 10 min until 0.1C", /^until: until "0.1C": a cutoff current ends CCCV and CV steps/],
  ])("%s", (text, expected) => {
    expect(fieldOf(text)).toMatch(expected);
  });
  it("object form: missing direction and stray fields", () => {
    expect(() => parseStep({ mode: "cc", current: "1C", to: "4.2 V" })).toThrow(/needs a direction/);
    expect(() => parseStep({ mode: "rest", for: "1 h", current: "1C" })).toThrow(/current does not apply to a rest step/);
    expect(() => parseStep({ mode: "cc", direction: "charge", current: 0.5, to: "4.2 V" })).toThrow(/current must be a C-rate like 0.1C/);
  });
});
