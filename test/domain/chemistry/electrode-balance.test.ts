import { describe, expect, it } from "vitest";
import { FRESH, type AgeingState } from "../../../server/domain/chemistry/chemistry.ts";
import {
  dudtAtSoc,
  electrodeBalance,
  ocvAtSoc,
  stoichiometryAtSoc,
} from "../../../server/domain/chemistry/electrode-balance.ts";
import { getChemistry } from "../../../server/domain/chemistry/registry.ts";

// Independent transcriptions of the published fits (DESIGN §5; Chen 2020, O'Regan 2022, Afshar 2017).
const graphite = (s: number) =>
  1.9793 * Math.exp(-39.3631 * s) + 0.2482 - 0.0909 * Math.tanh(29.8538 * (s - 0.1234)) -
  0.04478 * Math.tanh(14.9159 * (s - 0.2769)) - 0.0205 * Math.tanh(30.4444 * (s - 0.6103));
const nmc811 = (s: number) =>
  -0.809 * s + 4.4875 - 0.0428 * Math.tanh(18.5138 * (s - 0.5542)) - 17.7326 * Math.tanh(15.789 * (s - 0.3117)) +
  17.5842 * Math.tanh(15.9308 * (s - 0.312));
const lfp = (s: number) => 3.4077 - 0.020269 * s + 0.5 * Math.exp(-150 * s) - 0.9 * Math.exp(-30 * (1 - s));
const graphiteDudt = (s: number) => -0.1112 * s + 0.02914 + 0.3561 * Math.exp(-((s - 0.08309) ** 2) / 0.004616);
const nmcDudt = (s: number) =>
  0.04006 * Math.exp(-((s - 0.2828) ** 2) / 0.0009855) - 0.06656 * Math.exp(-((s - 0.8032) ** 2) / 0.02179);

const NMC = getChemistry("nmc811-graphite");
const LFP = getChemistry("lfp-graphite");
const aged = (a: Partial<AgeingState>): AgeingState => ({ ...FRESH, ...a });
const SOCS = [0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1];

describe("fresh NMC811/graphite cell (Chen 2020 windows)", () => {
  const bal = electrodeBalance(NMC, 5, FRESH);

  it("reproduces the published stoichiometry windows and the fresh capacity", () => {
    expect(bal.x0).toBeCloseTo(0.0279, 10);
    expect(bal.x100).toBeCloseTo(0.9014, 10);
    expect(bal.y0).toBeCloseTo(0.9084, 10);
    expect(bal.y100).toBeCloseTo(0.2661, 10);
    expect(bal.capacityAh).toBeCloseTo(5, 9);
    expect(bal.negCapacityAh).toBeCloseTo(5 / (0.9014 - 0.0279), 9);
    expect(bal.posCapacityAh).toBeCloseTo(5 / (0.9084 - 0.2661), 9);
  });

  it("OCV equals U_pos(y) − U_neg(x) from the published fits at every SOC (≤ 0.1 mV)", () => {
    for (const soc of SOCS) {
      const x = 0.0279 + soc * (0.9014 - 0.0279);
      const y = 0.9084 + soc * (0.2661 - 0.9084);
      expect(Math.abs(ocvAtSoc(NMC, bal, soc) - (nmc811(y) - graphite(x)))).toBeLessThan(1e-4);
      expect(stoichiometryAtSoc(bal, soc).x).toBeCloseTo(x, 10);
      expect(stoichiometryAtSoc(bal, soc).y).toBeCloseTo(y, 10);
    }
  });

  it("puts the window ends within 10 mV of the 2.5 V / 4.2 V limits", () => {
    expect(ocvAtSoc(NMC, bal, 0)).toBeCloseTo(2.4977, 3);
    expect(ocvAtSoc(NMC, bal, 1)).toBeCloseTo(4.1929, 3);
  });

  it("full-cell dU/dT is dU_pos/dT − dU_neg/dT (O'Regan 2022) and drives the entropic OCV term", () => {
    for (const soc of [0.1, 0.3, 0.5, 0.8]) {
      const x = 0.0279 + soc * (0.9014 - 0.0279);
      const y = 0.9084 + soc * (0.2661 - 0.9084);
      const dudt = dudtAtSoc(NMC, bal, soc);
      expect(dudt).toBeCloseTo(nmcDudt(y) - graphiteDudt(x), 12);
      for (const temperatureC of [10, 35, 45]) {
        const shiftV = ocvAtSoc(NMC, bal, soc, temperatureC) - ocvAtSoc(NMC, bal, soc, 25);
        expect(shiftV).toBeCloseTo((temperatureC - 25) * dudt * 1e-3, 12);
      }
    }
  });
});

describe("fresh LFP/graphite cell", () => {
  it("reproduces its windows and OCV from the Afshar 2017 LFP and Chen 2020 graphite fits", () => {
    const bal = electrodeBalance(LFP, 2.3, FRESH);
    expect(bal.capacityAh).toBeCloseTo(2.3, 9);
    expect(bal.x100).toBeCloseTo(0.81, 10);
    expect(bal.y0).toBeCloseTo(0.8538, 10);
    for (const soc of SOCS) {
      const x = 0.0362 + soc * (0.81 - 0.0362);
      const y = 0.8538 + soc * (0.0027 - 0.8538);
      expect(Math.abs(ocvAtSoc(LFP, bal, soc) - (lfp(y) - graphite(x)))).toBeLessThan(1e-4);
    }
    // flat plateau: 40 %..70 % SOC spans under 30 mV (an NMC811 cell moves > 150 mV there)
    expect(ocvAtSoc(LFP, bal, 0.7) - ocvAtSoc(LFP, bal, 0.4)).toBeLessThan(0.03);
    const nmc = electrodeBalance(NMC, 5, FRESH);
    expect(ocvAtSoc(NMC, nmc, 0.7) - ocvAtSoc(NMC, nmc, 0.4)).toBeGreaterThan(0.15);
    expect(LFP.hysteresisHalfWidthV(0.5)).toBeCloseTo(0.01, 12);
    expect(NMC.hysteresisHalfWidthV(0.5)).toBe(0);
  });
});

describe("Dubarry degradation modes", () => {
  const levels = [0, 0.05, 0.1, 0.2, 0.3];

  it("LLI shrinks capacity monotonically and slides the negative window down (x100 decreases)", () => {
    const bals = levels.map((lli) => electrodeBalance(NMC, 5, aged({ lli })));
    for (let i = 1; i < bals.length; i++) {
      expect(bals[i].capacityAh).toBeLessThan(bals[i - 1].capacityAh);
      expect(bals[i].x100).toBeLessThan(bals[i - 1].x100);
      // positive top of charge stays near the voltage limit's stoichiometry (graphite potential shifts it slightly)
      expect(Math.abs(bals[i].y100 - 0.2661)).toBeLessThan(0.005);
    }
    // lithium bookkeeping: the inventory dropped by exactly lli·Q
    const b = bals[3];
    const inventoryAh = b.x100 * b.negCapacityAh + b.y100 * b.posCapacityAh;
    const freshInventoryAh = 0.9014 * (5 / 0.8735) + 0.2661 * (5 / 0.6423);
    expect(inventoryAh).toBeCloseTo(freshInventoryAh - 0.2 * 5, 9);
  });

  // LAM of delithiated material: capacity holds until the shrunken electrode limits the other end, then falls.
  it("LAM_PE: capacity non-increasing, the delithiated end holds, the positive saturates at discharge (y0 → 1)", () => {
    const bals = levels.map((lamPe) => electrodeBalance(NMC, 5, aged({ lamPe })));
    for (let i = 1; i < bals.length; i++) {
      expect(bals[i].capacityAh).toBeLessThanOrEqual(bals[i - 1].capacityAh + 1e-9);
      expect(bals[i].x0).toBeGreaterThanOrEqual(bals[i - 1].x0);
      expect(bals[i].x100).toBeCloseTo(0.9014, 9);
      expect(bals[i].y100).toBeCloseTo(0.2661, 9);
      expect(bals[i].posCapacityAh).toBeCloseTo((5 / 0.6423) * (1 - levels[i]), 9);
    }
    expect(bals[3].y0).toBeCloseTo(1, 9);
    expect(bals[4].capacityAh).toBeLessThan(0.85 * 5);
  });

  it("LAM_NE: capacity non-increasing, the delithiated end holds, the negative fills at charge (x100 → 1)", () => {
    const bals = levels.map((lamNe) => electrodeBalance(NMC, 5, aged({ lamNe })));
    for (let i = 1; i < bals.length; i++) {
      expect(bals[i].capacityAh).toBeLessThanOrEqual(bals[i - 1].capacityAh + 1e-9);
      expect(bals[i].x0).toBeCloseTo(0.0279, 9);
      expect(bals[i].y0).toBeCloseTo(0.9084, 9);
      expect(bals[i].negCapacityAh).toBeCloseTo((5 / 0.8735) * (1 - levels[i]), 9);
    }
    expect(bals[4].capacityAh).toBeLessThan(bals[0].capacityAh * 0.9);
    expect(bals[4].x100).toBeCloseTo(1, 9);
    expect(bals[4].y100).toBeGreaterThan(0.2661 + 0.05);
  });

  it("keeps every stoichiometry in [0, 1] for combined modes and rejects impossible states", () => {
    for (const chem of [NMC, LFP]) {
      const b = electrodeBalance(chem, chem.nominalCapacityAh, aged({ lli: 0.3, lamNe: 0.25, lamPe: 0.2 }));
      for (const s of [b.x0, b.x100, b.y0, b.y100]) {
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
      }
      expect(b.capacityAh).toBeLessThan(chem.nominalCapacityAh);
    }
    expect(() => electrodeBalance(NMC, 5, aged({ lli: 1.2 }))).toThrow(/ageing.lli/);
    expect(() => electrodeBalance(NMC, 0, FRESH)).toThrow(/freshCapacityAh/);
  });
});

describe("registry", () => {
  it("returns each chemistry by id and rejects unknown ids", () => {
    expect(getChemistry("lfp-graphite").id).toBe("lfp-graphite");
    expect(getChemistry("nmc811-graphite").maxVoltageV).toBe(4.2);
    expect(() => getChemistry("nca-si" as never)).toThrow(/unknown chemistry "nca-si"/);
  });
});
