/**
 * DESIGN §5 entropic term seen the way the station measures it: a resting cell in the simulated chamber, a 10 K
 * chamber step, and the cell's rest voltage. Expected, independently of the simulator:
 *  - the relaxed shift is ΔT·dU/dT with dU/dT from the chemistry's own fits (electrode-balance.ts dudtAtSoc);
 *  - the lag is that of two first-order lags in series (chamber air τa, then the cell τc = m·c_p/hA): for a step
 *    ΔT the cell follows T(t) = T₀ + ΔT·[1 − (τa·e^(−t/τa) − τc·e^(−t/τc))/(τa − τc)], and V follows T.
 */
import { describe, expect, it } from "vitest";
import { simulatorsSchema } from "../../server/config/station-config.schema.ts";
import { dudtAtSoc, electrodeBalance } from "../../server/domain/chemistry/electrode-balance.ts";
import { getChemistry } from "../../server/domain/chemistry/registry.ts";
import { CELL_FORMATS } from "../../simulators/cell/population.ts";
import { createSimEnvironment, populationOf } from "../../simulators/sim-environment.ts";

const TAU_AIR_S = 300;
const STEP_K = 10;

describe("10 K chamber step on a resting cell", () => {
  it("shifts the rest voltage by ΔT·dU/dT, lagging through the chamber and cell time constants", () => {
    const cfg = simulatorsSchema.parse({
      // ramp limit far above the step, so the chamber's setpoint change is a step (0.6 s at 1000 K/min)
      chambers: [{ id: "ch", port: 0, initialC: 25, timeConstantS: TAU_AIR_S, maxRampKPerMin: 1000 }],
      cyclers: [{ id: "cy", protocol: "opcua", port: 0, channels: 1, chamber: "ch", population: { seed: 8 } }],
    });
    const env = createSimEnvironment(cfg, { speed: "manual", startUnixS: 1_800_000_000 });
    const cycler = env.cyclers.get("cy")!;
    const chem = getChemistry("nmc811-graphite");
    const spec = populationOf(cfg.cyclers[0])[0];
    const balance = electrodeBalance(chem, spec.freshCapacityAh, spec.ageing);
    // the SOC in 10..90 % where |dU/dT| is largest, so the shift is well above the model's resolution
    let soc = 0.1;
    for (let s = 0.1; s <= 0.9; s += 0.01) if (Math.abs(dudtAtSoc(chem, balance, s)) > Math.abs(dudtAtSoc(chem, balance, soc))) soc = s;
    const dudtMvPerK = dudtAtSoc(chem, balance, soc);
    expect(Math.abs(dudtMvPerK)).toBeGreaterThan(0.1);
    // no self-discharge: over hours its SOC drift (tens of µV) would add to the entropic shift being checked
    const cell = cycler.insertCell(1, { ...spec, leakCurrentA: 0, initialSoc: soc, initialTemperatureC: 25 });

    const f = CELL_FORMATS["nmc811-graphite"];
    const tauCellS = (f.massKg * f.heatCapacityJPerKgK) / f.hAWPerK;
    const expectedShiftV = (t: number) =>
      STEP_K * (1 - (TAU_AIR_S * Math.exp(-t / TAU_AIR_S) - tauCellS * Math.exp(-t / tauCellS)) / (TAU_AIR_S - tauCellS)) * dudtMvPerK * 1e-3;

    env.clock.advanceBy(600); // settled at 25 °C before the step
    const v0 = cell.voltageAt(0);
    env.chambers.get("ch")!.setpoint(25 + STEP_K);
    const finalV = STEP_K * dudtMvPerK * 1e-3;
    let t = 0;
    const shifts = new Map<number, number>();
    for (const at of [60, 300, 600, 1200, 1800, 3600, 7200, 10 * (TAU_AIR_S + tauCellS)]) {
      env.clock.advanceBy(at - t);
      t = at;
      const shiftV = cell.voltageAt(0) - v0;
      shifts.set(t, shiftV);
      // 2 % of the final shift: the environment couples air → cell in 10 s chunks (trapezoid mean air temperature)
      expect(Math.abs(shiftV - expectedShiftV(t)), `t = ${t} s`).toBeLessThan(0.02 * Math.abs(finalV));
    }
    // relaxed: the whole ΔT·dU/dT (1 %: tabulated half-cell fits in the model vs the closed-form fits here)
    expect(Math.abs(cell.voltageAt(0) - v0 - finalV)).toBeLessThan(0.01 * Math.abs(finalV));
    // the lag is real: one air time constant after the step the rest voltage has moved well under half way
    expect(Math.abs(shifts.get(TAU_AIR_S)!)).toBeLessThan(0.5 * Math.abs(finalV));
    expect(Math.sign(shifts.get(TAU_AIR_S)!)).toBe(Math.sign(finalV));
    expect(cell.truth().temperatureC).toBeCloseTo(25 + STEP_K, 2);
  });
});
