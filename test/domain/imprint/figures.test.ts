import { describe, expect, it } from "vitest";
import { cycleCapacities, throughput } from "../../../server/domain/imprint/capacity.ts";
import { pulseResistance } from "../../../server/domain/imprint/dcir.ts";
import { restOcv } from "../../../server/domain/imprint/ocv.ts";
import { holdCurrent, kValue } from "../../../server/domain/imprint/self-discharge.ts";
import { gaussian, stepRecords } from "./synthetic.ts";

describe("capacity and coulombic efficiency", () => {
  it("integrates the per-step counters across step restarts and pairs discharge with the preceding charge", () => {
    const charge = [
      ...stepRecords({ startS: 0, durationS: 7200, everyS: 10, stepIndex: 0, currentA: () => 2, voltageV: () => 3.8 }),
      ...stepRecords({ startS: 7210, durationS: 1800, everyS: 10, stepIndex: 1, currentA: () => 1, voltageV: () => 4.2 }),
    ];
    const discharge = stepRecords({ startS: 10000, durationS: 3.5 * 3600, everyS: 10, currentA: () => -1.3, voltageV: () => 3.6 });
    expect(throughput(charge).chargeAh).toBeCloseTo(4 + 0.5, 9);
    const [cycle] = cycleCapacities([{ kind: "charge", records: charge }, { kind: "discharge", records: discharge }]);
    expect(cycle.dischargeAh).toBeCloseTo(4.55, 9);
    expect(cycle.dischargeWh).toBeCloseTo(4.55 * 3.6, 9);
    expect(cycle.coulombicEfficiency).toBeCloseTo(4.55 / 4.5, 9);
    expect(cycle.meanDischargeVoltageV).toBeCloseTo(3.6, 9);
  });
  it("a discharge without a preceding charge has no CE", () => {
    const d = stepRecords({ startS: 0, durationS: 3600, everyS: 60, currentA: () => -1, voltageV: () => 3.6 });
    expect(cycleCapacities([{ kind: "discharge", records: d }])[0].coulombicEfficiency).toBeNull();
  });
});

describe("IEC 61960 pulse resistance", () => {
  const cell = (r0: number, r1: number, tauS: number) => {
    // Exact response of R0 + (R1 || C) to the two-level current: 1 A discharge for 10 s, then 5 A for 1 s.
    const i = (t: number) => (t < 10 ? -1 : -5);
    const u1 = (t: number) => (t < 10 ? r1 * -1 * (1 - Math.exp(-t / tauS)) : r1 * -1 * (1 - Math.exp(-10 / tauS)) * Math.exp(-(t - 10) / tauS) + r1 * -5 * (1 - Math.exp(-(t - 10) / tauS)));
    const rest = stepRecords({ startS: 0, durationS: 60, everyS: 1, currentA: () => 0, voltageV: () => 3.7 });
    const pulse = stepRecords({ startS: 60.1, durationS: 11, everyS: 0.1, stepIndex: 1, currentA: (t) => i(t + 1e-9), voltageV: (t) => 3.7 + r0 * i(t + 1e-9) + u1(t) });
    return { rest, pulse, u1 };
  };
  it("pure ohmic cell: R = R0 within 0.1 %", () => {
    const { rest, pulse } = cell(0.02, 0, 1);
    const r = pulseResistance(rest, pulse);
    expect(Math.abs(r.dcirMilliohm.value - 20) / 20).toBeLessThan(1e-3);
    expect(Math.abs(r.r10sMilliohm.value - 20) / 20).toBeLessThan(1e-3);
    expect(r.level1.currentA).toBe(-1);
    expect(r.level2.currentA).toBe(-5);
  });
  it("with an RC pair: both resistances match the closed form", () => {
    const { rest, pulse, u1 } = cell(0.02, 0.01, 5);
    const r = pulseResistance(rest, pulse);
    // Level 1 ends at the last sample before the current changes (9.9 s with 0.1 s logging).
    expect(r.level1.timeS).toBeCloseTo(9.9, 6);
    const v1 = 3.7 + 0.02 * -1 + u1(r.level1.timeS);
    const v2 = 3.7 + 0.02 * -5 + u1(11);
    expect(Math.abs(r.r10sMilliohm.value - ((v1 - 3.7) / -1) * 1000)).toBeLessThan(0.001 * r.r10sMilliohm.value);
    expect(Math.abs(r.dcirMilliohm.value - ((v1 - v2) / 4) * 1000)).toBeLessThan(0.001 * r.dcirMilliohm.value);
    // …and within 0.1 % of the ideal 10 s reading R0 + R1(1 − e^(−10/τ)) (reading at 9.9 s instead of 10 s costs ≈ 0.1 %).
    expect(Math.abs(r.r10sMilliohm.value - (0.02 + 0.01 * (1 - Math.exp(-2))) * 1000)).toBeLessThan(0.0015 * 28.65);
  });
  it("uncertainty follows from reading uncertainties (GUM)", () => {
    const { rest, pulse } = cell(0.02, 0, 1);
    const r = pulseResistance(rest, pulse, { voltageV: 1e-4, currentA: 0 });
    expect(r.dcirMilliohm.uncertainty).toBeCloseTo((Math.SQRT2 * 1e-4 / 4) * 1000, 9);
    expect(() => pulseResistance(rest, rest)).toThrow(/one current level/);
  });
});

describe("OCV after rest", () => {
  it("mean of the tail and the end slope of a known exponential relaxation", () => {
    const rest = stepRecords({ startS: 0, durationS: 4 * 3600, everyS: 10, currentA: () => 0, voltageV: (t) => 3.6 + 0.01 * Math.exp(-t / 1200) });
    const ocv = restOcv(rest);
    const end = 4 * 3600;
    expect(ocv.ocvV.value).toBeCloseTo(3.6 + 0.01 * Math.exp(-end / 1200), 6);
    // slope of 10 mV·e^(−t/1200 s) near the end: −(10/1200)·e^(−12) mV/s ≈ −1.84e-4 mV/h·… checked against the analytic derivative
    const exact = (-0.01 / 1200) * Math.exp(-(end - 300) / 1200) * 3.6e6;
    expect(ocv.endDvdtMvPerH.value).toBeCloseTo(exact, 3);
    expect(ocv.relaxed).toBe(true);
    const early = restOcv(rest.slice(0, 60));
    expect(early.relaxed).toBe(false);
  });
});

describe("self-discharge", () => {
  it("K-value: OCV falling at a known mV/day with noise lies within its reported uncertainty", () => {
    for (const [seed, kTrue] of [[1, 1.5], [2, 0], [3, 8]] as const) {
      const noise = gaussian(seed);
      const rest = stepRecords({
        startS: 0, durationS: 48 * 3600, everyS: 600, currentA: () => 0,
        voltageV: (t) => 3.65 - (kTrue / 1000) * (t / 86400) + 0.001 * Math.exp(-t / 3600) + 1e-4 * noise(),
      });
      const k = kValue(rest, 6 * 3600);
      expect(Math.abs(k.kValueMvPerDay.value - kTrue)).toBeLessThan(3 * k.kValueMvPerDay.uncertainty);
      expect(k.kValueMvPerDay.uncertainty).toBeGreaterThan(0.005);
      expect(k.kValueMvPerDay.uncertainty).toBeLessThan(0.05);
      expect(k.fitStartS).toBe(6 * 3600);
    }
  });
  it("hold current: the asymptote of I∞ + a·e^(−t/τ) within its uncertainty", () => {
    const noise = gaussian(7);
    const hold = stepRecords({ startS: 0, durationS: 12 * 3600, everyS: 60, voltageV: () => 3.65, currentA: (t) => 5e-6 + 200e-6 * Math.exp(-t / 3600) + 0.3e-6 * noise() });
    const h = holdCurrent(hold);
    expect(Math.abs(h.holdCurrentMicroA.value - 5)).toBeLessThan(3 * h.holdCurrentMicroA.uncertainty);
    expect(h.holdCurrentMicroA.uncertainty).toBeLessThan(0.1);
    expect(h.timeConstantS).toBeGreaterThan(3300);
    expect(h.timeConstantS).toBeLessThan(3900);
    expect(Math.abs(h.tailMeanMicroA - 5)).toBeLessThan(0.2);
  });
});
