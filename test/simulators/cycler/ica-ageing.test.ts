/**
 * DESIGN §5 ageing: loss of lithium inventory (LLI) moves the dQ/dV peaks. A fresh and an LLI-aged twin (same
 * cell otherwise) are charged and discharged at C/20 through the simulated cycler; the station's own ICA
 * (server/domain/imprint/ica.ts) is applied to the recorded discharges. The expected shifts come independently
 * from the half-cell model: the equilibrium OCV(SOC) of electrode-balance.ts for both ageing states, differentiated
 * numerically, through the same peak finder.
 */
import { describe, expect, it } from "vitest";
import type { AgeingState } from "../../../server/domain/chemistry/chemistry.ts";
import { electrodeBalance, ocvAtSoc } from "../../../server/domain/chemistry/electrode-balance.ts";
import { getChemistry } from "../../../server/domain/chemistry/registry.ts";
import type { ChannelRecord } from "../../../server/domain/equipment/channel.ts";
import type { Program } from "../../../server/domain/equipment/program.ts";
import { findPeaks, incrementalCapacity, type IcaPeak } from "../../../server/domain/imprint/ica.ts";
import { newLot } from "../../../simulators/cell/population.ts";
import { createSimCycler } from "../../../simulators/cycler/sim-cycler.ts";

const FRESH: AgeingState = { lli: 0, lamNe: 0, lamPe: 0, resistanceGrowth: 0 };
const AGED: AgeingState = { lli: 0.12, lamNe: 0, lamPe: 0, resistanceGrowth: 0 };
const ICA = { gridStepV: 0.001, smoothingV: 0.008 };

function c20(capacityAh: number): Program {
  return {
    id: "ica-c20",
    safety: { maxVoltageV: 4.25, minVoltageV: 2.45, maxCurrentA: 5, maxTemperatureC: 60 },
    steps: [
      { mode: "cccv", currentA: capacityAh / 10, voltageV: 4.2, ends: [{ on: "current", op: "<=", value: capacityAh / 50, then: "next" }], log: { everyS: 600 } },
      { mode: "rest", ends: [{ on: "time", op: ">=", value: 3 * 3600, then: "next" }], log: { everyS: 600 } },
      { mode: "cc", currentA: -capacityAh / 20, ends: [{ on: "voltage", op: "<=", value: 2.5, then: "end" }], log: { everyS: 120, deltaV: 0.002 } },
    ],
  };
}

/** Equilibrium dQ/dV peaks of the half-cell model (no cycler, no resistance): OCV on a fine SOC grid. */
function modelPeaks(freshCapacityAh: number, ageing: AgeingState): IcaPeak[] {
  const chem = getChemistry("nmc811-graphite");
  const bal = electrodeBalance(chem, freshCapacityAh, ageing);
  const socs = Array.from({ length: 4001 }, (_, i) => 1 - i / 4000);
  return findPeaks(incrementalCapacity({ voltageV: socs.map((s) => ocvAtSoc(chem, bal, s)), chargeAh: socs.map((s) => (1 - s) * bal.capacityAh) }, ICA));
}

describe("LLI and dQ/dV", () => {
  it("moves the C/20 discharge peaks the way the half-cell model predicts", () => {
    const spec = newLot({ seed: 31, count: 1, chemistry: "nmc811-graphite", serialPrefix: "ICA" })[0];
    const twins = [FRESH, AGED].map((ageing, i) => ({ ...spec, serial: `ICA-${i}`, ageing, leakCurrentA: 0, initialSoc: 0.3 }));
    const cycler = createSimCycler({ id: "ica", cells: twins, watchdogMs: 0 });
    twins.forEach((t, i) => {
      cycler.load(i + 1, c20(cycler.cell(i + 1).truth().capacityAh));
      cycler.command(i + 1, "start");
    });
    for (let t = 0; t < 40 * 3600 && cycler.live().some((c) => c.state === "running"); t += 60) cycler.advance(60);
    expect(cycler.live().map((c) => c.state)).toEqual(["finished", "finished"]);

    const discharge = (channel: number): ChannelRecord[] => cycler.records(channel, 0n, 1e6).filter((r) => r.stepIndex === 2);
    const [measuredFresh, measuredAged] = [1, 2].map((ch) => findPeaks(incrementalCapacity(discharge(ch), ICA)));
    const [modelFresh, modelAged] = [FRESH, AGED].map((a) => modelPeaks(spec.freshCapacityAh, a));
    // NMC811/graphite at C/20: two graphite-staging peaks below 3.9 V and the NMC H2→H3 peak near 4.09 V
    for (const peaks of [measuredFresh, measuredAged, modelFresh, modelAged]) expect(peaks).toHaveLength(3);

    // LLI is not a loss of active material: the aged cell delivers less, and its peaks move, not just shrink
    expect(cycler.cell(2).truth().capacityAh).toBeLessThan(0.95 * cycler.cell(1).truth().capacityAh);
    for (let k = 0; k < 3; k++) {
      const modelShiftV = modelAged[k].voltageV - modelFresh[k].voltageV;
      const measuredShiftV = measuredAged[k].voltageV - measuredFresh[k].voltageV;
      // same IR drop for both twins (same resistance; C/20 of each one's own capacity): the shifts agree within 3 mV
      expect(Math.abs(measuredShiftV - modelShiftV), `peak ${k}: ${measuredShiftV} V vs model ${modelShiftV} V`).toBeLessThan(0.003);
      if (Math.abs(modelShiftV) > 0.005) expect(Math.sign(measuredShiftV), `peak ${k} direction`).toBe(Math.sign(modelShiftV));
      // the discharge peaks sit below the equilibrium ones by about I·R (C/20 × ~30 mΩ-class DC resistance)
      expect(modelFresh[k].voltageV - measuredFresh[k].voltageV).toBeGreaterThan(0);
      expect(modelFresh[k].voltageV - measuredFresh[k].voltageV).toBeLessThan(0.02);
    }
    // the expected direction: a graphite staging peak sits at a fixed graphite stoichiometry x; with less cyclable
    // lithium (x·Q_neg + y·Q_pos smaller) the positive is less lithiated there (lower y, higher U_pos), so the peak
    // appears at a higher cell voltage (tens of mV for 12 % LLI) …
    expect(measuredAged[0].voltageV - measuredFresh[0].voltageV).toBeGreaterThan(0.03);
    expect(measuredAged[1].voltageV - measuredFresh[1].voltageV).toBeGreaterThan(0.03);
    // … while the NMC peak stays put in voltage and loses area, as much as the model says
    expect(Math.abs(measuredAged[2].voltageV - measuredFresh[2].voltageV)).toBeLessThan(0.003);
    const areaRatio = (a: IcaPeak[], b: IcaPeak[]) => a[2].areaAh / b[2].areaAh;
    expect(areaRatio(measuredAged, measuredFresh)).toBeLessThan(0.8);
    expect(Math.abs(areaRatio(measuredAged, measuredFresh) - areaRatio(modelAged, modelFresh))).toBeLessThan(0.05);
  });
});
