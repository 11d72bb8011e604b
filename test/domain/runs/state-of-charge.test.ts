import { describe, expect, it } from "vitest";
import { RECORD_FLAGS } from "../../../server/domain/equipment/channel.ts";
import type { Step } from "../../../server/domain/equipment/program.ts";
import { countCharge, EMPTY_SOC_COUNTER, socPercent, type CountedRecord } from "../../../server/domain/runs/state-of-charge.ts";

const Q_AH = 5;
const log = { everyS: 10 };
const steps: Step[] = [
  { mode: "cccv", currentA: 2.5, voltageV: 4.2, ends: [{ on: "current", op: "<=", value: 0.25, then: "next" }, { on: "time", op: ">=", value: 10_800, then: "next" }], log },
  { mode: "cc", currentA: -2.5, ends: [{ on: "capacity", op: ">=", value: 1, then: "next" }, { on: "voltage", op: "<=", value: 2.5, then: "next" }], log },
  { mode: "cc", currentA: 1, ends: [{ on: "time", op: ">=", value: 3600, then: "next" }], log },
];
const stepOf = (_phase: number, i: number) => steps[i];
const rec = (stepIndex: number, p: Partial<CountedRecord>): CountedRecord => ({ phaseIndex: 0, stepIndex, cycle: 1, voltageV: 3.7, currentA: 0, chargeAh: 0, dischargeAh: 0, flags: 0, ...p });
const END = RECORD_FLAGS.stepEnd;

describe("SOC by coulomb counting from an observed anchor", () => {
  it("is unknown until the run shows a full or empty event", () => {
    const s = countCharge(EMPTY_SOC_COUNTER, [rec(2, { chargeAh: 0.5, currentA: 1 }), rec(2, { chargeAh: 1, currentA: 1, flags: END })], stepOf);
    expect(socPercent(s, Q_AH)).toBeUndefined();
  });

  it("a CCCV charge ending on its taper is 100 %; discharging 1.25 Ah of 5 Ah after it reads 75 %", () => {
    const records = [
      rec(0, { chargeAh: 2, currentA: 2.5, voltageV: 4.0 }),
      rec(0, { chargeAh: 3.4, currentA: 0.249, voltageV: 4.2, flags: END }),
      rec(1, { dischargeAh: 0.5, currentA: -2.5 }),
      rec(1, { dischargeAh: 1.25, currentA: -2.5 }),
    ];
    const s = countCharge(EMPTY_SOC_COUNTER, records, stepOf);
    expect(s.anchor?.kind).toBe("full");
    expect(socPercent(s, Q_AH)).toBeCloseTo(75, 9);
    // fed in two chunks the counter reaches the same state
    const chunked = countCharge(countCharge(EMPTY_SOC_COUNTER, records.slice(0, 3), stepOf), records.slice(3), stepOf);
    expect(socPercent(chunked, Q_AH)).toBeCloseTo(75, 9);
  });

  it("a CCCV charge cut by its time cap (current still above the taper) is no anchor", () => {
    const s = countCharge(EMPTY_SOC_COUNTER, [rec(0, { chargeAh: 4, currentA: 0.6, voltageV: 4.2, flags: END })], stepOf);
    expect(s.anchor).toBeUndefined();
  });

  it("a discharge ending at its voltage cutoff is 0 %; a capacity-ended one is not; 1 Ah charged after empty reads 20 %", () => {
    const notEmpty = countCharge(EMPTY_SOC_COUNTER, [rec(1, { dischargeAh: 1, currentA: -2.5, voltageV: 3.6, flags: END })], stepOf);
    expect(notEmpty.anchor).toBeUndefined();
    const s = countCharge(EMPTY_SOC_COUNTER, [
      rec(1, { dischargeAh: 0.9, currentA: -2.5, voltageV: 2.5, flags: END }),
      rec(2, { chargeAh: 0.4, currentA: 1 }),
      rec(2, { chargeAh: 1, currentA: 1, flags: END }),
    ], stepOf);
    expect(s.anchor?.kind).toBe("empty");
    expect(socPercent(s, Q_AH)).toBeCloseTo(20, 9);
  });

  it("sums every step execution after the anchor, loops (same step, next cycle) included, and steps cut off without an end record", () => {
    const s = countCharge(EMPTY_SOC_COUNTER, [
      rec(0, { chargeAh: 3, currentA: 0.2, voltageV: 4.2, flags: END }), // full
      rec(2, { chargeAh: -0, dischargeAh: 0.5, currentA: -1 }), // no end record: counted when the next execution starts
      rec(1, { dischargeAh: 1, currentA: -2.5, voltageV: 3.5, flags: END, cycle: 2 }),
      rec(1, { dischargeAh: 0.25, currentA: -2.5, voltageV: 3.4, cycle: 3 }),
    ], stepOf);
    // 100 % − (0.5 + 1 + 0.25) Ah / 5 Ah
    expect(socPercent(s, Q_AH)).toBeCloseTo(100 - 35, 9);
  });
});
