import { describe, expect, it } from "vitest";
import { sohByCapacity, sohByResistance } from "../../../server/domain/degradation/soh.ts";
import { compareWithImprint } from "../../../server/domain/degradation/imprint-comparison.ts";

describe("SOH", () => {
  it("by capacity: ratio with relative uncertainties in quadrature", () => {
    const soh = sohByCapacity({ value: 4, uncertainty: 0.03 }, { value: 5, uncertainty: 0.05 });
    expect(soh.value).toBeCloseTo(0.8, 12);
    expect(soh.uncertainty).toBeCloseTo(0.8 * Math.hypot(0.0075, 0.01), 12);
  });

  it("by resistance: growth and SOH_R = 1 − g/g_EOL", () => {
    const r = sohByResistance({ value: 33, uncertainty: 0 }, { value: 22, uncertainty: 0 }, 1);
    expect(r.resistanceGrowth.value).toBeCloseTo(0.5, 12);
    expect(r.sohResistance.value).toBeCloseTo(0.5, 12);
    expect(sohByResistance({ value: 33, uncertainty: 0 }, { value: 22, uncertainty: 0 }, 2).sohResistance.value).toBeCloseTo(0.75, 12);
  });
});

describe("compareWithImprint", () => {
  it("reports fade, DCIR increase, K-value change, matched peak shifts and the dU/dT change", () => {
    const c = compareWithImprint(
      {
        capacityAh: { value: 5, uncertainty: 0 },
        dcirMilliohm: { value: 20, uncertainty: 0 },
        kValueMvPerDay: { value: 0.1, uncertainty: 0.03 },
        icaPeaksV: [3.55, 3.72, 4.05],
        entropyProfile: [
          { soc: 0.2, dudtMvPerK: 0.1, dudtUncertaintyMvPerK: 0.003 },
          { soc: 0.5, dudtMvPerK: -0.05, dudtUncertaintyMvPerK: 0.004 },
          { soc: 0.95, dudtMvPerK: 0, dudtUncertaintyMvPerK: 0.004 },
        ],
      },
      {
        capacityAh: { value: 4, uncertainty: 0 },
        dcirMilliohm: { value: 30, uncertainty: 0 },
        kValueMvPerDay: { value: 0.5, uncertainty: 0.04 },
        icaPeaksV: [3.58, 3.71],
        entropyProfile: [
          { soc: 0.1, dudtMvPerK: 0.2, dudtUncertaintyMvPerK: 0.004 },
          { soc: 0.3, dudtMvPerK: 0.1, dudtUncertaintyMvPerK: 0.004 },
          { soc: 0.7, dudtMvPerK: -0.1, dudtUncertaintyMvPerK: 0.004 },
        ],
      },
    );
    expect(c.capacityFade?.value).toBeCloseTo(0.2, 12);
    expect(c.dcirIncrease?.value).toBeCloseTo(0.5, 12);
    expect(c.kValueChangeMvPerDay?.value).toBeCloseTo(0.4, 12);
    expect(c.kValueChangeMvPerDay?.uncertainty).toBeCloseTo(0.05, 12);
    // the 4.05 V peak has no partner within 50 mV
    expect(c.icaPeakShifts?.map((p) => [p.imprintV, Math.round(p.shiftMv)])).toEqual([[3.55, 30], [3.72, -10]]);
    // SOC 0.2 → midway 0.15 between 0.2 and 0.1; SOC 0.5 → midway 0.0 between 0.1 and −0.1; SOC 0.95 outside
    expect(c.entropyChange?.map((p) => [p.soc, Number(p.changeMvPerK.toFixed(6))])).toEqual([[0.2, 0.05], [0.5, 0.05]]);
    expect(c.entropyChange?.[0].uncertaintyMvPerK).toBeCloseTo(0.005, 12);
  });
});
