/** The OPC UA chamber driver against the chamber front-end on loopback, with a scripted chamber core. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EquipmentError, type ChamberDriver, type ChamberInfo, type ChamberProfilePoint, type ChamberReading } from "../../server/equipment/cycler-driver.ts";
import { createOpcuaChamberDriver } from "../../server/equipment/opcua/opcua-chamber-driver.ts";
import type { SimChamberApi } from "../../simulators/cycler/sim-cycler-api.ts";
import { startOpcuaChamberServer } from "../../simulators/opcua/chamber-server.ts";
import type { OpcuaSimServer } from "../../simulators/opcua/cycler-server.ts";

const INFO: ChamberInfo = { model: "FAKE-CHAMBER", serial: "CH-1", minC: -40, maxC: 120, simulated: true };

function scriptedChamber() {
  const state: ChamberReading = { setpointC: 25, actualC: 24.5, stable: false, alarmCode: 0 };
  const calls: [number, number | undefined][] = [];
  const profiles: ChamberProfilePoint[][] = [];
  const api: SimChamberApi = {
    info: () => ({ ...INFO }),
    read: () => ({ ...state }),
    setpoint: (c, ramp) => {
      calls.push([c, ramp]);
      state.setpointC = c;
    },
    profile: (points) => void profiles.push(points),
  };
  return { api, state, calls, profiles };
}

const waitFor = async (what: string, ok: () => Promise<boolean>) => {
  const until = Date.now() + 5000;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe("OPC UA chamber driver", () => {
  let server: OpcuaSimServer;
  let driver: ChamberDriver;
  let chamber: ReturnType<typeof scriptedChamber>;
  let pki: string;
  beforeAll(async () => {
    pki = await mkdtemp(join(tmpdir(), "axviam-opcua-chamber-"));
  });
  afterAll(() => rm(pki, { recursive: true, force: true }));
  beforeEach(async () => {
    chamber = scriptedChamber();
    server = await startOpcuaChamberServer({ chamber: chamber.api, pushIntervalMs: 20, pkiDir: join(pki, "server") });
    driver = createOpcuaChamberDriver({ endpointUrl: server.endpointUrl, requestTimeoutMs: 1000, pkiDir: join(pki, "client") });
  });
  afterEach(async () => {
    await driver.close();
    await server.stop();
  });

  it("connects, reads identification and follows the chamber's values", async () => {
    expect(await driver.connect()).toEqual(INFO);
    expect(await driver.read()).toEqual(chamber.state);
    Object.assign(chamber.state, { actualC: 31.25, stable: true, alarmCode: 3 });
    await waitFor("pushed values", async () => (await driver.read()).actualC === 31.25);
    expect(await driver.read()).toEqual(chamber.state);
  });

  it("sets a setpoint with and without ramp rate, and refuses one outside the chamber's range", async () => {
    await driver.connect();
    await driver.setpoint(45, 2);
    await driver.setpoint(10);
    expect(chamber.calls).toEqual([[45, 2], [10, undefined]]);
    const err = await driver.setpoint(150).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EquipmentError);
    expect((err as EquipmentError).kind).toBe("rejected");
    expect((err as EquipmentError).message).toMatch(/150/);
    expect(chamber.calls).toHaveLength(2);
  });

  it("runs a profile on the chamber and refuses one with a point outside its range", async () => {
    await driver.connect();
    const points = [{ setpointC: 15, holdMin: 30 }, { setpointC: 35.5, holdMin: 45 }];
    await driver.profile(points);
    expect(chamber.profiles).toEqual([points]);
    const err = await driver.profile([{ setpointC: 20, holdMin: 1 }, { setpointC: -50, holdMin: 1 }]).catch((e: unknown) => e);
    expect((err as EquipmentError).kind).toBe("rejected");
    expect((err as EquipmentError).message).toMatch(/point 1/);
    expect(chamber.profiles).toHaveLength(1);
  });

  it("raises invalid-reading for a corrupted chamber instead of passing NaN on", async () => {
    await driver.connect();
    server.faults.corruptChannels = [1];
    await waitFor("corrupted values", async () => (await driver.read().then(() => false, (e: unknown) => e instanceof EquipmentError && e.kind === "invalid-reading")));
  });
});
