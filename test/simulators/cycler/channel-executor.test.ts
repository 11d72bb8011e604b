/**
 * The channel executor against closed forms, on a linear test cell (linear-cell.ts):
 * OCV = 3.5 V + 0.1 V/Ah · q, R0 = 50 mΩ unless a test says otherwise.
 */
import { describe, expect, it } from "vitest";
import { ALARM_CODES, RECORD_FLAGS, type ChannelRecord } from "../../../server/domain/equipment/channel.ts";
import type { Limits, Program, Step } from "../../../server/domain/equipment/program.ts";
import { ChannelExecutor, type RecordSink } from "../../../simulators/cycler/channel-executor.ts";
import { SimRequestError } from "../../../simulators/cycler/sim-cycler-api.ts";
import { linearCell, type LinearCell, type LinearCellParams } from "./linear-cell.ts";

/** what the executor hands its record sink: a record without the ring's seq and clock, plus the step time */
type Rec = Omit<ChannelRecord, "seq" | "unixTimeS"> & { stepTimeS: number };

const SAFE: Limits = { maxVoltageV: 5, minVoltageV: 0, maxCurrentA: 20, maxTemperatureC: 80 };
const CELL: LinearCellParams = { ocv0V: 3.5, slopeVPerAh: 0.1, r0Ohm: 0.05 };

function setup(steps: Step[], cellParams: LinearCellParams = CELL, safety: Limits = SAFE) {
  const cell: LinearCell = linearCell(cellParams);
  const records: Rec[] = [];
  const sink: RecordSink = {
    record(ex, flags) {
      records.push({
        flags,
        testTimeS: ex.testTimeS,
        stepTimeS: ex.stepTimeS,
        stepIndex: ex.stepIndex,
        cycle: ex.cycle,
        voltageV: ex.voltageV,
        currentA: ex.currentA,
        temperatureC: ex.temperatureC,
        chargeAh: ex.stepChargeAh,
        dischargeAh: ex.stepDischargeAh,
        chargeWh: ex.stepChargeWh,
        dischargeWh: ex.stepDischargeWh,
      });
    },
  };
  const ex = new ChannelExecutor(1, cell, sink, { maxCurrentA: 15, maxContactOhm: 0.05 });
  const program: Program = { id: "t", steps, safety };
  ex.load(program);
  return { ex, cell, records };
}

/** Advances in chunks of chunkS until the program leaves "running" or untilS passes. */
function run(ex: ChannelExecutor, untilS: number, chunkS = 10, ambientC = 25): void {
  for (let t = 0; t < untilS && ex.state === "running"; t += chunkS) ex.advance(chunkS, ambientC, 1_700_000_000 + ex.testTimeS);
}

const stepEnds = (records: Rec[]) => records.filter((r) => r.flags & RECORD_FLAGS.stepEnd);
const log = (everyS: number, deltaV?: number) => ({ everyS, ...(deltaV === undefined ? {} : { deltaV }) });

describe("channel executor: sign convention and step modes", () => {
  it("pins the sign: charge current > 0 raises V and fills chargeAh; discharge < 0 fills dischargeAh", () => {
    const charge = setup([{ mode: "cc", currentA: 2, ends: [{ on: "time", op: ">=", value: 1800, then: "end" }], log: log(60) }]);
    charge.ex.start();
    run(charge.ex, 4000);
    const end = stepEnds(charge.records)[0];
    expect(end.chargeAh).toBeCloseTo(1.0, 9);
    expect(end.dischargeAh).toBe(0);
    expect(end.voltageV).toBeCloseTo(3.5 + 0.1 * 1 + 2 * 0.05, 9);
    expect(charge.cell.chargeAh).toBeCloseTo(1.0, 9);

    const discharge = setup([{ mode: "cc", currentA: -2, ends: [{ on: "time", op: ">=", value: 1800, then: "end" }], log: log(60) }]);
    discharge.ex.start();
    run(discharge.ex, 4000);
    const dEnd = stepEnds(discharge.records)[0];
    expect(dEnd.dischargeAh).toBeCloseTo(1.0, 9);
    expect(dEnd.chargeAh).toBe(0);
    expect(dEnd.voltageV).toBeCloseTo(3.5 - 0.1 - 0.1, 9);
    expect(dEnd.dischargeWh).toBeCloseTo(((3.4 + 3.3) / 2) * 1, 6);
  });

  it("cc to a voltage end stops at the crossing, not a logging interval later", () => {
    // OCV reaches 3.7 V (V = 3.8 V at 2 A) after 2 Ah = 3600 s
    const { ex, records } = setup([{ mode: "cc", currentA: 2, ends: [{ on: "voltage", op: ">=", value: 3.8, then: "end" }], log: log(70) }]);
    ex.start();
    run(ex, 5000);
    const end = stepEnds(records)[0];
    expect(end.testTimeS).toBeGreaterThanOrEqual(3600 - 1e-6);
    expect(end.testTimeS).toBeLessThan(3600.01);
    expect(end.voltageV).toBeCloseTo(3.8, 5);
    expect(ex.state).toBe("finished");
  });

  it("cccv: CC to the set voltage, then an exponential CV tail ending on |I| (closed form τ = 3600·R/k)", () => {
    const { ex, records } = setup([
      { mode: "cccv", currentA: 2, voltageV: 3.8, ends: [{ on: "current", op: "<=", value: 0.2, then: "end" }], log: log(60) },
    ]);
    ex.start();
    run(ex, 20000);
    const tauS = (3600 * 0.05) / 0.1;
    const end = stepEnds(records)[0];
    expect(Math.abs(end.testTimeS - (3600 + tauS * Math.log(10)))).toBeLessThan(3);
    // CC 2 Ah + CV ∫ I dt = (I0 − Iend)·τ
    expect(end.chargeAh).toBeCloseTo(2 + ((2 - 0.2) * tauS) / 3600, 3);
    expect(end.currentA).toBeCloseTo(0.2, 3);
    // during CV the terminal voltage is held
    const cv = records.filter((r) => r.testTimeS > 3700 && !(r.flags & RECORD_FLAGS.stepEnd));
    expect(cv.length).toBeGreaterThan(10);
    for (const r of cv) expect(r.voltageV).toBeCloseTo(3.8, 6);
  });

  it("cv from rest: initial current (V−OCV)/R, decay to the current end after τ·ln(I0/Iend)", () => {
    const { ex, records } = setup([{ mode: "cv", voltageV: 3.6, ends: [{ on: "current", op: "<=", value: 0.1, then: "end" }], log: log(60) }]);
    ex.start();
    expect(records[0].currentA).toBeCloseTo(2, 9);
    run(ex, 20000);
    const end = stepEnds(records)[0];
    expect(Math.abs(end.testTimeS - 1800 * Math.log(20))).toBeLessThan(3);
    expect(end.chargeAh).toBeCloseTo(((2 - 0.1) * 1800) / 3600, 3);
  });

  it("cv clamps the current at the instrument's compliance", () => {
    const { ex, records } = setup([{ mode: "cv", voltageV: 4.5, ends: [{ on: "time", op: ">=", value: 10, then: "end" }], log: log(1) }]);
    ex.start();
    expect(records[0].currentA).toBe(15);
  });

  it("cp holds I·V at the set power; an energy end fires at E/P", () => {
    const { ex, records } = setup([{ mode: "cp", powerW: 10, ends: [{ on: "energy", op: ">=", value: 5, then: "end" }], log: log(60) }]);
    ex.start();
    run(ex, 5000);
    for (const r of records) expect(r.currentA * r.voltageV).toBeCloseTo(10, 6);
    const end = stepEnds(records)[0];
    expect(Math.abs(end.testTimeS - 1800)).toBeLessThan(0.1);
    expect(end.chargeWh).toBeCloseTo(5, 3);
  });

  it("cc discharge with a capacity end stops at |Ah| exactly", () => {
    const { ex, records } = setup([{ mode: "cc", currentA: -3, ends: [{ on: "capacity", op: ">=", value: 0.5, then: "end" }], log: log(45) }]);
    ex.start();
    run(ex, 2000);
    const end = stepEnds(records)[0];
    expect(Math.abs(end.testTimeS - 600)).toBeLessThan(0.01);
    expect(end.dischargeAh).toBeCloseTo(0.5, 5);
  });

  it("pulse: segment boundaries are exact and logged; the ohmic jump is ΔI·R", () => {
    const { ex, records } = setup([
      {
        mode: "pulse",
        segments: [
          { currentA: 1, durationS: 10 },
          { currentA: 5, durationS: 1 },
          { currentA: -2, durationS: 0.01 },
        ],
        ends: [],
        log: log(100),
      },
    ]);
    ex.start();
    run(ex, 100, 0.37);
    const endSeg0 = records.find((r) => r.stepTimeS === 10 && r.currentA === 1);
    const startSeg1 = records.find((r) => r.stepTimeS === 10 && r.currentA === 5);
    expect(endSeg0).toBeDefined();
    expect(startSeg1).toBeDefined();
    expect((startSeg1 as Rec).voltageV - (endSeg0 as Rec).voltageV).toBeCloseTo(4 * 0.05, 9);
    const end = stepEnds(records)[0];
    expect(end.stepTimeS).toBe(11.01);
    expect(end.chargeAh).toBeCloseTo((10 + 5) / 3600, 9);
    expect(end.dischargeAh).toBeCloseTo((2 * 0.01) / 3600, 12);
    expect(ex.state).toBe("finished");
  });

  it("rest and ocv log at step start, every everyS and at the time end", () => {
    for (const mode of ["rest", "ocv"] as const) {
      const { ex, records } = setup([{ mode, ends: [{ on: "time", op: ">=", value: 60, then: "end" }], log: log(7) }]);
      ex.start();
      run(ex, 100, 25);
      expect(records.map((r) => r.stepTimeS)).toEqual([0, 7, 14, 21, 28, 35, 42, 49, 56, 60]);
      expect(records[0].flags).toBe(RECORD_FLAGS.stepStart);
      expect(records[9].flags).toBe(RECORD_FLAGS.stepEnd | RECORD_FLAGS.programEnd);
      expect(records.every((r) => r.currentA === 0)).toBe(true);
    }
  });

  it("logs on ΔV between the time-grid records", () => {
    // V rises 0.1 V in 1800 s; with deltaV 11 mV the records fall at +11, +22 … +99 mV: nine between start and end
    const { ex, records } = setup([{ mode: "cc", currentA: 2, ends: [{ on: "time", op: ">=", value: 1800, then: "end" }], log: log(1e5, 0.011) }]);
    ex.start();
    run(ex, 4000, 60);
    const inner = records.slice(1, -1);
    expect(inner.length).toBe(9);
    let last = records[0].voltageV;
    for (const r of inner) {
      expect(r.voltageV - last).toBeGreaterThanOrEqual(0.011);
      expect(r.voltageV - last).toBeLessThan(0.011 + 1e-5);
      last = r.voltageV;
    }
  });
});

describe("channel executor: end conditions on dV/dt and temperature", () => {
  it("dVdt end fires at the first logging window whose |ΔV|/everyS falls below the threshold", () => {
    const params = { ...CELL, r1Ohm: 0.05, tauS: 100 };
    const { ex, records } = setup(
      [
        { mode: "cc", currentA: 2, ends: [{ on: "time", op: ">=", value: 1000, then: "next" }], log: log(100) },
        { mode: "rest", ends: [{ on: "dVdt", op: "<=", value: 1e-4, then: "end" }], log: log(10) },
      ],
      params,
    );
    ex.start();
    run(ex, 5000);
    // at rest v_rc(t) = v0·e^(−t/τ); window n has |ΔV|/10 s = v0·e^(−(n−1)·10/τ)·(1 − e^(−10/τ))/10
    const v0 = 2 * 0.05 * (1 - Math.exp(-1000 / 100));
    let n = 1;
    while ((v0 * Math.exp((-(n - 1) * 10) / 100) * (1 - Math.exp(-10 / 100))) / 10 > 1e-4) n++;
    const end = stepEnds(records)[1];
    expect(end.stepIndex).toBe(1);
    expect(end.stepTimeS).toBe(n * 10);
  });

  it("temperature end fires when the cell, relaxing to a warmer ambient, crosses it", () => {
    const { ex, records } = setup([{ mode: "rest", ends: [{ on: "temperature", op: ">=", value: 30, then: "end" }], log: log(60) }], {
      ...CELL,
      thermalTauS: 600,
    });
    ex.start();
    run(ex, 5000, 10, 35);
    const end = stepEnds(records)[0];
    expect(Math.abs(end.stepTimeS - 600 * Math.log(2))).toBeLessThan(0.05);
    expect(end.temperatureC).toBeCloseTo(30, 3);
  });

  it("the first end met ends the step, in list order", () => {
    const { ex, records } = setup([
      {
        mode: "cc",
        currentA: 2,
        ends: [
          { on: "time", op: ">=", value: 100, then: "end" },
          { on: "voltage", op: ">=", value: 3.0, then: { goto: 0 } },
        ],
        log: log(10),
      },
    ]);
    ex.start();
    run(ex, 10, 1);
    // voltage ≥ 3.0 is met at once: the goto (second end) fires, not the time end
    expect(ex.cycle).toBeGreaterThan(1);
    expect(records.filter((r) => r.flags & RECORD_FLAGS.stepStart).length).toBeGreaterThan(2);
  });
});

describe("channel executor: program flow, safety and commands", () => {
  it("goto with repeat 3 runs the loop body four times and counts cycles", () => {
    const { ex, records } = setup([
      { mode: "cc", currentA: 1, ends: [{ on: "time", op: ">=", value: 10, then: "next" }], log: log(5) },
      { mode: "cc", currentA: -1, ends: [{ on: "time", op: ">=", value: 10, then: { goto: 0, repeat: 3 } }], log: log(5) },
    ]);
    ex.start();
    run(ex, 1000, 3);
    expect(ex.state).toBe("finished");
    expect(ex.cycle).toBe(4);
    expect(ex.testTimeS).toBeCloseTo(80, 9);
    const starts = records.filter((r) => r.flags & RECORD_FLAGS.stepStart && r.stepIndex === 0);
    expect(starts.map((r) => r.cycle)).toEqual([1, 2, 3, 4]);
    expect(records[records.length - 1].flags & RECORD_FLAGS.programEnd).toBeTruthy();
  });

  it("a voltage safety breach ends the program in fault with overVoltage and the breaching record", () => {
    // V = 3.75 V + 0.1·q at 5 A: 3.8 V after 0.5 Ah = 360 s
    const { ex, records } = setup([{ mode: "cc", currentA: 5, ends: [{ on: "time", op: ">=", value: 3600, then: "end" }], log: log(60) }], CELL, {
      ...SAFE,
      maxVoltageV: 3.8,
    });
    ex.start();
    run(ex, 4000);
    expect(ex.state).toBe("fault");
    expect(ex.alarmCode).toBe(ALARM_CODES.overVoltage);
    expect(ex.currentA).toBe(0);
    const last = records[records.length - 1];
    expect(last.flags & RECORD_FLAGS.fault).toBeTruthy();
    expect(last.voltageV).toBeGreaterThan(3.8);
    expect(last.voltageV).toBeLessThan(3.8 + 0.01);
    expect(Math.abs(last.testTimeS - 360)).toBeLessThan(60);
  });

  it.each([
    ["overCurrent", { maxCurrentA: 4 }, 5],
    ["underVoltage", { minVoltageV: 3.4 }, -5],
    ["overCapacity", { maxCapacityAh: 0.01 }, 1],
  ] as const)("%s", (name, safety, currentA) => {
    const { ex } = setup([{ mode: "cc", currentA, ends: [{ on: "time", op: ">=", value: 3600, then: "end" }], log: log(60) }], CELL, { ...SAFE, ...safety });
    ex.start();
    run(ex, 4000);
    expect(ex.state).toBe("fault");
    expect(ex.alarmCode).toBe(ALARM_CODES[name]);
  });

  it("pause freezes step time with the output off; resume continues the step to its end", () => {
    const { ex, cell, records } = setup([{ mode: "cc", currentA: 1, ends: [{ on: "time", op: ">=", value: 100, then: "end" }], log: log(10) }]);
    ex.start();
    ex.advance(40, 25, 0);
    ex.pause();
    expect(ex.state).toBe("paused");
    expect(ex.currentA).toBe(0);
    ex.advance(50, 25, 40);
    expect(ex.stepTimeS).toBeCloseTo(40, 9);
    expect(ex.testTimeS).toBeCloseTo(90, 9);
    ex.resume();
    expect(ex.currentA).toBe(1);
    run(ex, 200);
    expect(ex.state).toBe("finished");
    expect(stepEnds(records)[0].chargeAh).toBeCloseTo(100 / 3600, 9);
    expect(cell.chargeAh).toBeCloseTo(100 / 3600, 9);
    expect(ex.testTimeS).toBeCloseTo(150, 9);
  });

  it("invalid transitions throw SimRequestError bad-state naming the channel and state", () => {
    const { ex } = setup([{ mode: "rest", ends: [{ on: "time", op: ">=", value: 100, then: "end" }], log: log(10) }]);
    const expectBad = (fn: () => void, re: RegExp) => {
      try {
        fn();
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(SimRequestError);
        expect((e as SimRequestError).code).toBe("bad-state");
        expect((e as Error).message).toMatch(re);
      }
    };
    expectBad(() => ex.pause(), /channel 1: cannot pause in state loaded/);
    expectBad(() => ex.resume(), /cannot resume in state loaded/);
    expectBad(() => ex.ackFault(), /cannot ack-fault in state loaded/);
    ex.start();
    expectBad(() => ex.start(), /cannot start in state running/);
    expectBad(() => ex.load({ id: "x", steps: [], safety: SAFE }), /cannot load in state running/);
    ex.stop();
    expect(ex.state).toBe("finished");
    expectBad(() => ex.stop(), /cannot stop in state finished/);
  });
});
