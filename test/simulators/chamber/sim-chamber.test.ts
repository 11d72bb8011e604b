import { describe, expect, it } from "vitest";
import { simulatorsSchema } from "../../../server/config/station-config.schema.ts";
import { CELL_FORMATS } from "../../../simulators/cell/population.ts";
import { CHAMBER_ALARM_CODES, createSimChamber } from "../../../simulators/chamber/sim-chamber.ts";
import { SimRequestError } from "../../../simulators/cycler/sim-cycler-api.ts";
import { createSimEnvironment } from "../../../simulators/sim-environment.ts";

const chamber = (over: Partial<Parameters<typeof createSimChamber>[0]> = {}) =>
  createSimChamber({ id: "ch", initialC: 25, timeConstantS: 300, maxRampKPerMin: 5, roomC: 25, ...over });

const advance = (c: ReturnType<typeof chamber>, seconds: number, chunkS = 1) => {
  for (let t = 0; t < seconds; t += chunkS) c.advance(chunkS);
};

describe("sim chamber", () => {
  it("follows a ramp of k K/min through a first-order lag: T = r(t) − kτ(1 − e^(−t/τ)) on the ramp", () => {
    const c = chamber();
    c.setpoint(45, 1); // 20 min ramp
    const k = 1 / 60;
    let prev = c.actualC();
    for (let t = 1; t <= 600; t++) {
      c.advance(1);
      const rate = c.actualC() - prev;
      expect(rate).toBeLessThanOrEqual(k + 1e-12);
      prev = c.actualC();
    }
    expect(c.actualC()).toBeCloseTo(25 + k * 600 - k * 300 * (1 - Math.exp(-2)), 9);
    expect(c.read().stable).toBe(false);
  });

  it("a step (fast ramp) relaxes with the configured time constant: 63.2 % after τ", () => {
    const c = chamber({ maxRampKPerMin: 1e6 });
    c.setpoint(35);
    advance(c, 300, 7.5);
    expect(c.actualC()).toBeCloseTo(25 + 10 * (1 - Math.exp(-1)), 3);
  });

  it("reports stable once within 0.2 K of the setpoint for more than 60 s", () => {
    const c = chamber({ maxRampKPerMin: 1e6 });
    c.setpoint(35);
    // |T − 35| < 0.2 K from t = τ·ln(10/0.2) ≈ 1173.6 s
    advance(c, 1230);
    expect(c.read().stable).toBe(false);
    advance(c, 10);
    expect(c.read()).toMatchObject({ setpointC: 35, stable: true, alarmCode: 0 });
  });

  it("a heater failure lets the air drift to the room with the passive time constant and raises the alarm", () => {
    const c = chamber({ maxRampKPerMin: 1e6, passiveTimeConstantS: 900 });
    c.setpoint(45);
    advance(c, 5000);
    c.faults.failure("heater");
    const t0 = c.actualC();
    advance(c, 900);
    expect(c.actualC()).toBeCloseTo(25 + (t0 - 25) * Math.exp(-1), 6);
    expect(c.read()).toMatchObject({ stable: false, alarmCode: CHAMBER_ALARM_CODES.heaterFailure });
    // a failed heater does not stop cooling below the room
    c.setpoint(10);
    advance(c, 5000);
    expect(c.actualC()).toBeCloseTo(10, 3);
    expect(c.read().alarmCode).toBe(CHAMBER_ALARM_CODES.heaterFailure);
  });

  it("runs a profile on its own: ramp at the maximum rate, hold from ramp end, last point held; setpoint() cancels", () => {
    const c = chamber();
    c.profile([
      { setpointC: 35, holdMin: 10 },
      { setpointC: 15, holdMin: 5 },
      { setpointC: 20, holdMin: 0 },
    ]);
    // 25 → 35 °C at 5 K/min: ramp ends at 2 min; hold 10 min → next point at 12 min
    advance(c, 12 * 60 - 1);
    expect(c.read().setpointC).toBe(35);
    advance(c, 2);
    expect(c.read().setpointC).toBe(15);
    advance(c, 3 * 3600, 60);
    expect(c.read().setpointC).toBe(20);
    expect(c.actualC()).toBeCloseTo(20, 6);
    c.profile([
      { setpointC: 30, holdMin: 1 },
      { setpointC: 40, holdMin: 1 },
    ]);
    c.setpoint(22);
    advance(c, 3600, 60);
    expect(c.read().setpointC).toBe(22);
    expect(() => c.profile([])).toThrow(SimRequestError);
  });

  it("rejects setpoints and ramps outside its range", () => {
    const c = chamber();
    expect(() => c.setpoint(500)).toThrow(SimRequestError);
    expect(() => c.setpoint(30, 50)).toThrow(/ramp 50 K\/min/);
    expect(c.info()).toMatchObject({ model: "AXVIAM SimChamber", simulated: true });
  });

  it("a 10 K chamber step reaches a resting cell through both lags (air τa, cell τc = m·c_p/hA)", () => {
    const cfg = simulatorsSchema.parse({
      clock: { speed: 60 },
      chambers: [{ id: "ch", port: 0, initialC: 25, timeConstantS: 300, maxRampKPerMin: 5 }],
      cyclers: [{ id: "cy", protocol: "opcua", port: 0, channels: 2, chamber: "ch", population: { seed: 4, microShortRate: 0, highResistanceRate: 0 } }],
    });
    const env = createSimEnvironment(cfg, { speed: "manual", startUnixS: 1_800_000_000 });
    const ch = env.chambers.get("ch")!;
    const cy = env.cyclers.get("cy")!;
    ch.setpoint(35);
    const f = CELL_FORMATS["nmc811-graphite"];
    const tauC = (f.massKg * f.heatCapacityJPerKgK) / f.hAWPerK;
    // reference: integrate ramp (5 K/min) → air lag → cell lag with a fine explicit step (independent of the model code)
    let r = 25, air = 25, cell = 25;
    const ref: number[] = [];
    for (let t = 0; t < 7200; t += 0.05) {
      r = Math.min(35, r + (5 / 60) * 0.05);
      air += ((r - air) / 300) * 0.05;
      cell += ((air - cell) / tauC) * 0.05;
      if (Math.abs((t + 0.05) % 600) < 0.025 || Math.abs(((t + 0.05) % 600) - 600) < 0.025) ref.push(cell);
    }
    for (let k = 0; k < 12; k++) {
      env.clock.advanceBy(600);
      expect(Math.abs(cy.cell(1).temperatureC - ref[k])).toBeLessThan(0.05);
      // the cell lags the air: after 10 min it is still several kelvin behind
      if (k === 0) expect(ch.actualC() - cy.cell(1).temperatureC).toBeGreaterThan(3);
    }
    expect(env.clock.nowUnixS()).toBe(1_800_000_000 + 7200);
  });
});
