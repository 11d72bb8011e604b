import { describe, expect, it } from "vitest";
import { estimateDudtFast } from "../../../server/domain/entropy/fast-estimator.ts";
import { EntropyError } from "../../../server/domain/entropy/dudt.ts";
import { FAST_PROFILE, syntheticRest, type SyntheticRestSpec } from "./synthetic-rest.ts";

// Relaxation after a C/3 SOC step on a ~5 Ah cell: a fast (5 min) and a slow (1 h) term of a few mV, and the
// cell's thermal lag of 25 min behind a chamber with a 5 min air time constant. Noise σ 0.1 mV / 0.1 K is twice
// the simulator's (±0.1 mV read as 2σ), to leave margin.
const base: Omit<SyntheticRestSpec, "seed" | "dudtMvPerK"> = {
  ocvAt25V: 3.72,
  holds: FAST_PROFILE,
  logEveryS: 10,
  thermalTauS: 1500,
  chamberTauS: 300,
  relaxation: [
    { amplitudeV: -2e-3, tauS: 300 },
    { amplitudeV: -4e-3, tauS: 3600 },
  ],
  voltageSigmaV: 1e-4,
  temperatureSigmaK: 0.1,
};

describe("estimateDudtFast", () => {
  it("recovers dU/dT from a relaxing trace with thermal lag and noise within 0.02 mV/K, error < 3σ", () => {
    const truths = [-0.25, -0.1, 0, 0.05, 0.12, 0.3];
    const normalised: number[] = [];
    truths.forEach((dudtMvPerK, k) => {
      for (let seed = 1; seed <= 4; seed++) {
        const trace = syntheticRest({ ...base, seed: seed * 101 + k, dudtMvPerK });
        const est = estimateDudtFast(trace, `synthetic ${dudtMvPerK} mV/K seed ${seed}`);
        const error = est.dudtMvPerK - dudtMvPerK;
        expect(Math.abs(error)).toBeLessThan(0.02);
        expect(Math.abs(error)).toBeLessThan(3 * est.dudtUncertaintyMvPerK);
        expect(est.dudtUncertaintyMvPerK).toBeLessThan(0.01);
        // V∞ at the mean cell temperature: OCV(25 °C) + dU/dT·(T̄ − 25)
        expect(est.relaxedOcvV).toBeCloseTo(3.72 + (dudtMvPerK / 1000) * (est.referenceTemperatureC - 25), 3);
        expect(est.entropyJPerMolK).toBeCloseTo(96.48533212 * est.dudtMvPerK, 6);
        normalised.push(error / est.dudtUncertaintyMvPerK);
      }
    });
    // The reported σ is honest: the normalised errors scatter with an RMS of order 1 (not ≪ 1, not ≫ 1).
    const rms = Math.sqrt(normalised.reduce((s, z) => s + z * z, 0) / normalised.length);
    expect(rms).toBeGreaterThan(0.3);
    expect(rms).toBeLessThan(2);
  });

  it("refuses a rest without a temperature swing instead of returning a meaningless slope", () => {
    const trace = syntheticRest({ ...base, seed: 7, dudtMvPerK: 0.1, holds: [{ setpointC: 25, holdS: 7200 }] });
    expect(() => estimateDudtFast(trace, "flat")).toThrow(EntropyError);
    expect(() => estimateDudtFast(trace, "flat")).toThrow(/flat: cell temperature swung only/);
  });
});
