import { describe, expect, it } from "vitest";
import { simulatorsSchema } from "../../server/config/station-config.schema.ts";
import { CELL_FORMATS } from "../../simulators/cell/population.ts";
import { createSimEnvironment } from "../../simulators/sim-environment.ts";

const cfg = simulatorsSchema.parse({
  clock: { speed: "afap", start: "2026-01-01T00:00:00Z" },
  chambers: [{ id: "ch1", port: 0 }],
  cyclers: [
    { id: "new", protocol: "opcua", port: 0, channels: 4, chamber: "ch1", population: { kind: "new", seed: 2, serialPrefix: "NEW" } },
    { id: "old", protocol: "modbus", port: 0, channels: 3, ambientC: 20, population: { kind: "second-life", seed: 3, serialPrefix: "OLD" } },
  ],
});

describe("sim environment", () => {
  it("builds cyclers with their populations, chambers and one clock from the config", () => {
    const env = createSimEnvironment(cfg);
    expect([...env.cyclers.keys()]).toEqual(["new", "old"]);
    expect(env.cyclers.get("new")!.info()).toMatchObject({ channelCount: 4, simulated: true, model: "AXVIAM SimCycler" });
    expect(env.cyclers.get("new")!.cell(1).serial).toBe("NEW0001");
    const old = env.cyclers.get("old")!;
    expect(old.cell(3).serial).toBe("OLD0003");
    expect(old.cell(1).truth().sohCapacity).toBeLessThan(0.96);
    expect(env.clock.nowUnixS()).toBe(Date.parse("2026-01-01T00:00:00Z") / 1000);
    expect(() => createSimEnvironment({ ...cfg, cyclers: [{ ...cfg.cyclers[0], chamber: "nope" }] })).toThrow(/simulators\.cyclers\.0\.chamber/);
  });

  it("drives everything on simulated time (afap) and stops cleanly", async () => {
    const env = createSimEnvironment(cfg);
    const room = env.cyclers.get("old")!;
    room.load(1, { id: "r", steps: [{ mode: "rest", ends: [{ on: "time", op: ">=", value: 1e9, then: "end" }], log: { everyS: 600 } }], safety: { maxVoltageV: 4.3, minVoltageV: 2, maxCurrentA: 5, maxTemperatureC: 60 } });
    room.command(1, "start");
    env.start();
    await new Promise((r) => setTimeout(r, 100));
    env.stop();
    const now = env.clock.nowUnixS();
    expect(env.clock.elapsedS()).toBeGreaterThan(600);
    expect(room.nowUnixS()).toBe(now);
    expect(env.cyclers.get("new")!.nowUnixS()).toBe(now);
    const last = room.records(1, 0n, 1e6).at(-1)!;
    expect(last.unixTimeS).toBeLessThanOrEqual(now);
    expect(last.unixTimeS).toBeGreaterThan(now - 601);
    // a resting cell relaxes from 25 °C to the cycler's configured 20 °C ambient with τ = m·c_p/hA
    const f = CELL_FORMATS["nmc811-graphite"];
    const tauS = (f.massKg * f.heatCapacityJPerKgK) / f.hAWPerK;
    expect(room.cell(2).temperatureC).toBeCloseTo(20 + 5 * Math.exp(-env.clock.elapsedS() / tauS), 2);
    await new Promise((r) => setTimeout(r, 30));
    expect(env.clock.nowUnixS()).toBe(now);
  });
});
