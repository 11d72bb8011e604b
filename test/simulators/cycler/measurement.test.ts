import { describe, expect, it } from "vitest";
import { createMeasurement, RESOLUTION } from "../../../simulators/cycler/measurement.ts";

function stats(xs: number[]) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { mean, sd };
}

describe("measurement", () => {
  const m = createMeasurement(7, 15);
  const N = 20_000;

  it("voltage: σ 0.05 mV (±0.1 mV at 2σ), unbiased, at 10 µV resolution", () => {
    const xs = Array.from({ length: N }, (_, k) => m.voltageV(3.7, 1, k));
    const { mean, sd } = stats(xs);
    expect(Math.abs(mean - 3.7)).toBeLessThan(3e-6);
    expect(sd).toBeGreaterThan(0.047e-3);
    expect(sd).toBeLessThan(0.053e-3);
    for (const x of xs.slice(0, 100)) expect(Math.round(x * RESOLUTION.voltagePerV) / RESOLUTION.voltagePerV).toBe(x);
  });

  it("current: σ 0.01 % of the auto-selected decade range; exactly 0 with the output off", () => {
    expect(m.rangeA(5)).toBe(15);
    expect(m.rangeA(1)).toBe(1.5);
    expect(m.rangeA(50e-6)).toBeCloseTo(0.0015, 12);
    const big = stats(Array.from({ length: N }, (_, k) => m.currentA(5, 2, k)));
    expect(big.sd / (15 * 1e-4)).toBeGreaterThan(0.95);
    expect(big.sd / (15 * 1e-4)).toBeLessThan(1.05);
    const tiny = stats(Array.from({ length: N }, (_, k) => m.currentA(50e-6, 2, k)));
    expect(Math.abs(tiny.mean - 50e-6)).toBeLessThan(5e-9);
    expect(tiny.sd).toBeLessThan(0.2e-6);
    expect(m.currentA(0, 2, 123)).toBe(0);
  });

  it("temperature: σ 0.05 K", () => {
    const { sd } = stats(Array.from({ length: N }, (_, k) => m.temperatureC(25, 3, k)));
    expect(sd).toBeGreaterThan(0.045);
    expect(sd).toBeLessThan(0.055);
  });

  it("is a pure function of (seed, channel, key): repeatable, and different across seeds and channels", () => {
    expect(m.voltageV(3.7, 1, 42)).toBe(createMeasurement(7, 15).voltageV(3.7, 1, 42));
    const a = Array.from({ length: 50 }, (_, k) => m.voltageV(3.7, 1, k));
    const b = Array.from({ length: 50 }, (_, k) => createMeasurement(8, 15).voltageV(3.7, 1, k));
    const c = Array.from({ length: 50 }, (_, k) => m.voltageV(3.7, 2, k));
    expect(a).not.toEqual(b);
    expect(a).not.toEqual(c);
  });
});
