import { describe, expect, it } from "vitest";
import {
  KOKAM_FRESH_STATE, KOKAM_NMC111_MODEL, anodePotentialV, kokamOutputs, kokamRates, kokamStressors, stepKokam,
} from "../../../server/domain/ageing/nmc111-gr-kokam75ah.ts";
import { updatePowerState, updateSigmoidState } from "../../../server/domain/ageing/state-functions.ts";
import { buildDailyProfile, compareEnvelope, fitParkedHighFraction, useInsideWindow } from "../../../server/domain/ageing/projection.ts";

const P = KOKAM_NMC111_MODEL.params;
const constantProfile = (soc: number, tC: number) => ({ timeS: [0, 86_400], soc: [soc, soc], temperatureC: [tC, tC] });

describe("BLAST-Lite state functions", () => {
  it("power state: first step is the trajectory k·x^p and small steps converge to it", () => {
    expect(updatePowerState(0, 2, 0.01, 0.5)).toBeCloseTo(0.01 * Math.SQRT2, 15);
    let y = 0;
    for (let i = 0; i < 20_000; i++) y += updatePowerState(y, 0.05, 0.01, 0.5);
    expect(y).toBeCloseTo(0.01 * Math.sqrt(1000), 3);
  });
  it("sigmoid state follows 2·y∞·(1/2 − 1/(1+exp((k·x)^p)))", () => {
    const traj = (x: number) => 2 * (0.5 - 1 / (1 + Math.exp((x / 1000) ** 10)));
    // start on the trajectory at x = 200 and advance 1000 in steps of 0.5
    let y = traj(200);
    for (let i = 0; i < 2000; i++) y += updateSigmoidState(y, 0.5, 1, 1 / 1000, 10);
    expect(y).toBeCloseTo(traj(1200), 2);
    // BLAST-Lite's seed state 1e-8 sits at x = (1/k)·ln(1 + 2e-8)^(1/p) ≈ 169 on this trajectory
    const seedX = 1000 * Math.log(-(2 / (1e-8 - 1)) - 1) ** 0.1;
    expect(traj(seedX)).toBeCloseTo(1e-8, 12);
  });
});

describe("Nmc111_Gr_Kokam75Ah_Battery (published equations and parameters)", () => {
  it("graphite potential (Safari & Delacourt) at SOC 0.5", () => {
    const x = 8.5e-3 + 0.5 * (0.78 - 8.5e-3);
    const ua = 0.6379 + 0.5416 * Math.exp(-305.5309 * x) + 0.044 * Math.tanh(-(x - 0.1958) / 0.1088)
      - 0.1978 * Math.tanh((x - 1.0571) / 0.0854) - 0.6875 * Math.tanh((x + 0.0117) / 0.0529) - 0.0175 * Math.tanh((x - 0.5692) / 0.0875);
    expect(anodePotentialV(0.5)).toBe(ua);
    expect(ua).toBeGreaterThan(0.08);
    expect(ua).toBeLessThan(0.15);
  });

  it("calendar rate q1 at 35 °C equals q1_0·e^q1_1·e^(q1_2·Ua/0.123)", () => {
    const r = kokamRates(constantProfile(0.5, 35));
    const uaN = anodePotentialV(0.5) / 0.123;
    expect(r.q1).toBeCloseTo(P.q1_0 * Math.exp(P.q1_1) * Math.exp(P.q1_2 * uaN), 12);
  });

  it("cycle rates q3, q5 at 25 °C, DOD 0.8, mean SOC 0.6", () => {
    const profile = { timeS: [0, 43_200, 86_400], soc: [1, 0.2, 0.6], temperatureC: [25, 25, 25] };
    const s = kokamStressors(profile);
    expect(s).toMatchObject({ deltaTDays: 1, dod: expect.closeTo(0.8, 12), meanSoc: expect.closeTo(0.6, 12), deltaEfc: expect.closeTo(0.6, 12) });
    const r = kokamRates(profile, s);
    const tN = 298.15 / 308.15;
    expect(r.q3).toBeCloseTo(P.q3_0 * Math.exp(P.q3_1 / tN) * Math.exp(P.q3_2 * Math.exp(0.64)), 12);
    expect(r.q5).toBeCloseTo(P.q5_0 + P.q5_1 * (25 - 55) * 0.8 * 1, 9);
  });

  it("one year of storage: calendar loss = q1·365^q2 on the first step; resistance grows with it", () => {
    const profile = { timeS: [0, 365 * 86_400], soc: [0.5, 0.5], temperatureC: [25, 25] };
    const s = kokamStressors(profile);
    const r = kokamRates(profile, s);
    const next = stepKokam(KOKAM_FRESH_STATE, r, s);
    const out = kokamOutputs(next);
    expect(out.q).toBeCloseTo(1 - r.q1 * 365 ** P.q2, 12);
    expect(next.rGainLliT).toBeCloseTo(P.r1 * r.q1 * 365 ** P.r2, 12);
    expect(out.r).toBeCloseTo(Math.max(1 + next.rGainLliT, P.r5 + P.r6 / (1.01 - 1e-8)), 12);
  });

  it("storing at high SOC and high temperature fades faster (the model's documented sensitivity)", () => {
    const fade = (soc: number, t: number) => 1 - kokamOutputs(stepKokam(KOKAM_FRESH_STATE, kokamRates(constantProfile(soc, t)), kokamStressors(constantProfile(soc, t)))).q;
    expect(fade(0.9, 25)).toBeGreaterThan(fade(0.3, 25));
    expect(fade(0.5, 45)).toBeGreaterThan(fade(0.5, 25));
  });
});

describe("projection", () => {
  const partial = { socHigh: 0.9, socLow: 0.5, efcPerDay: 0.4, temperatureC: 25, dischargeCRate: 0.5, chargeCRate: 0.3 };
  it("the daily profile has the requested throughput, depth and mean SOC", () => {
    const f = fitParkedHighFraction(partial, 0.75);
    const p = buildDailyProfile({ ...partial, parkedHighFraction: f });
    const s = kokamStressors(p);
    expect(s.deltaEfc).toBeCloseTo(0.4, 6);
    expect(s.dod).toBeCloseTo(0.4, 9);
    expect(s.meanSoc).toBeCloseTo(0.75, 3);
    expect(p.soc[0]).toBe(p.soc.at(-1));
  });
  it("a window keeps the throughput in shallower cycles below its top", () => {
    const use = useInsideWindow({ ...partial, parkedHighFraction: 0.5 }, 0.2, 0.5);
    expect(use).toMatchObject({ socHigh: 0.5, socLow: 0.2 });
    expect(kokamStressors(buildDailyProfile(use)).deltaEfc).toBeCloseTo(0.4, 6);
  });
  it("starts from the measured SOH and keeps less capacity under the baseline's high-SOC parking than inside a lower window", () => {
    const base = { ...partial, parkedHighFraction: 0.9 };
    const c = compareEnvelope(base, useInsideWindow(base, 0.1, 0.7), 5, 0.95);
    expect(c.equivalentAgeDays).toBeGreaterThan(0);
    expect(c.baseline.points[0].relativeCapacity).toBeLessThanOrEqual(0.95);
    expect(c.baseline.points[0].relativeCapacity).toBeGreaterThan(0.94);
    expect(c.envelope.points.at(-1)!.relativeCapacity).toBeGreaterThan(c.baseline.points.at(-1)!.relativeCapacity);
    expect(c.baseline.points.at(-1)!.day).toBe(5 * 365);
  });
});
