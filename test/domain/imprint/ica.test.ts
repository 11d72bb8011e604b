import { describe, expect, it } from "vitest";
import { differentialVoltage, findPeaks, incrementalCapacity } from "../../../server/domain/imprint/ica.ts";
import { gaussian } from "./synthetic.ts";

// Q(V) = background + Σ A_k/2·(1 + tanh((V − V_k)/w_k)): dQ/dV has sech² peaks at V_k, height A_k/(2 w_k), area A_k.
const STEPS = [
  { v: 3.45, a: 1.2, w: 0.012 },
  { v: 3.62, a: 1.6, w: 0.015 },
  { v: 3.95, a: 0.9, w: 0.02 },
];
const BACKGROUND_AH_PER_V = 0.4;
const qOf = (v: number) => BACKGROUND_AH_PER_V * (v - 3.2) + STEPS.reduce((s, p) => s + (p.a / 2) * (1 + Math.tanh((v - p.v) / p.w)), 0);

function curve(noiseV: number, seed: number) {
  // Sample uniformly in Q (as a constant-current charge logs), invert Q(V) by bisection, add voltage noise.
  const noise = gaussian(seed);
  const qMin = qOf(3.25);
  const qMax = qOf(4.15);
  const voltageV: number[] = [];
  const chargeAh: number[] = [];
  for (let k = 0; k <= 6000; k++) {
    const q = qMin + ((qMax - qMin) * k) / 6000;
    let lo = 3.2, hi = 4.2;
    for (let it = 0; it < 60; it++) { const mid = (lo + hi) / 2; if (qOf(mid) < q) lo = mid; else hi = mid; }
    voltageV.push((lo + hi) / 2 + noiseV * noise());
    chargeAh.push(q - qMin);
  }
  return { voltageV, chargeAh };
}

describe("incremental capacity", () => {
  it("finds the tanh-step peaks within 2 mV, with their areas", () => {
    const ica = incrementalCapacity(curve(1e-4, 3), { gridStepV: 0.001, smoothingV: 0.006 });
    const peaks = findPeaks(ica);
    expect(peaks).toHaveLength(3);
    peaks.forEach((p, k) => {
      expect(Math.abs(p.voltageV - STEPS[k].v)).toBeLessThan(0.002);
      // area between valleys holds the step's charge plus the background under it
      expect(p.areaAh).toBeGreaterThan(STEPS[k].a * 0.85);
      expect(p.areaAh).toBeLessThan(STEPS[k].a * 1.25);
    });
    // Without noise and with little smoothing the height approaches A/(2w) (+ background).
    const sharp = findPeaks(incrementalCapacity(curve(0, 1), { gridStepV: 0.0005, smoothingV: 0.001 }));
    sharp.forEach((p, k) => {
      const expected = STEPS[k].a / (2 * STEPS[k].w) + BACKGROUND_AH_PER_V;
      expect(Math.abs(p.heightAhPerV - expected) / expected).toBeLessThan(0.03);
    });
  });
  it("a discharge curve (voltage falling) gives the same peaks on an ascending voltage axis", () => {
    const c = curve(1e-4, 5);
    const down = { voltageV: [...c.voltageV].reverse(), chargeAh: c.chargeAh.map((q) => c.chargeAh[c.chargeAh.length - 1] - q).reverse() };
    const ica = incrementalCapacity(down);
    expect(ica.voltageV[1]).toBeGreaterThan(ica.voltageV[0]);
    findPeaks(ica).forEach((p, k) => expect(Math.abs(p.voltageV - STEPS[k].v)).toBeLessThan(0.003));
  });
  it("DVA is the reciprocal of ICA away from the peaks", () => {
    const c = curve(0, 2);
    const dva = differentialVoltage(c, { smoothingAh: 0.002 });
    const q = qOf(3.8) - qOf(3.25);
    const i = dva.chargeAh.findIndex((x) => x >= q);
    const dqdvAt38 = (qOf(3.8001) - qOf(3.7999)) / 0.0002;
    expect(dva.dvdqVPerAh[i]).toBeCloseTo(1 / dqdvAt38, 2);
  });
});
