import { describe, expect, it } from "vitest";
import { estimateDudtPotentiometric, findRelaxedPlateaus } from "../../../server/domain/entropy/potentiometric-reference.ts";
import { estimateDudtFast } from "../../../server/domain/entropy/fast-estimator.ts";
import { FAST_PROFILE, REFERENCE_PROFILE, syntheticRest, type SyntheticRestSpec } from "./synthetic-rest.ts";

const base: Omit<SyntheticRestSpec, "seed" | "dudtMvPerK" | "holds"> = {
  ocvAt25V: 3.65,
  logEveryS: 60,
  thermalTauS: 1500,
  chamberTauS: 300,
  relaxation: [
    { amplitudeV: -2e-3, tauS: 300 },
    { amplitudeV: -4e-3, tauS: 3600 },
  ],
  voltageSigmaV: 1e-4,
  temperatureSigmaK: 0.1,
};

describe("potentiometric reference", () => {
  it("finds one relaxed plateau per chamber temperature, at its end", () => {
    const trace = syntheticRest({ ...base, seed: 3, dudtMvPerK: 0.1, holds: REFERENCE_PROFILE });
    const plateaus = findRelaxedPlateaus(trace, "reference");
    expect(plateaus.map((p) => Math.round(p.temperatureC))).toEqual([25, 15, 25, 35]);
    // each plateau is the last relaxed window before the chamber moved on (holds end at 4, 7, 10, 13 h)
    expect(plateaus.map((p) => Math.round(p.endTimeS / 3600))).toEqual([4, 7, 10, 13]);
  });

  it("recovers dU/dT within 0.02 mV/K with error < 3σ, and agrees with the fast method on the same cell", () => {
    for (const [k, dudtMvPerK] of [-0.2, 0.03, 0.25].entries()) {
      const ref = estimateDudtPotentiometric(syntheticRest({ ...base, seed: 11 + k, dudtMvPerK, holds: REFERENCE_PROFILE }), "reference");
      expect(Math.abs(ref.dudtMvPerK - dudtMvPerK)).toBeLessThan(0.02);
      expect(Math.abs(ref.dudtMvPerK - dudtMvPerK)).toBeLessThan(3 * ref.dudtUncertaintyMvPerK);
      expect(ref.temperatureSwingK).toBeGreaterThan(19);
      const fast = estimateDudtFast(syntheticRest({ ...base, logEveryS: 10, seed: 21 + k, dudtMvPerK, holds: FAST_PROFILE }), "fast");
      expect(Math.abs(fast.dudtMvPerK - ref.dudtMvPerK)).toBeLessThan(0.02);
      // equipment time of the rest at one SOC point: 13 h against 2 h
      expect(ref.durationS / fast.durationS).toBeGreaterThan(5);
    }
  });
});
