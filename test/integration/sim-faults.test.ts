/**
 * Every injectable fault, switched through the simulator's control API (HTTP, as a third-party test would) and
 * observed by a client over a real protocol: the station's OPC UA and Modbus TCP drivers against `startSimHost`
 * (one OPC UA cycler, one Modbus cycler, one OPC UA chamber) on loopback, with a manual clock.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulatorsSchema } from "../../server/config/station-config.schema.ts";
import { ALARM_CODES } from "../../server/domain/equipment/channel.ts";
import type { Program } from "../../server/domain/equipment/program.ts";
import { EquipmentError, type ChamberDriver, type CyclerDriver, type LinkState } from "../../server/equipment/cycler-driver.ts";
import { createModbusCyclerDriver } from "../../server/equipment/modbus/modbus-cycler-driver.ts";
import { loadRegisterMap } from "../../server/equipment/modbus/register-map.ts";
import { createOpcuaChamberDriver } from "../../server/equipment/opcua/opcua-chamber-driver.ts";
import { createOpcuaCyclerDriver } from "../../server/equipment/opcua/opcua-cycler-driver.ts";
import { CHAMBER_ALARM_CODES } from "../../simulators/chamber/sim-chamber.ts";
import { startSimControlServer, type SimControlServer } from "../../simulators/control/control-server.ts";
import { startSimHost, type SimHost } from "../../simulators/sim-host.ts";

const CONFIG_DIR = path.resolve(import.meta.dirname, "../../station-config");
// generous: the suite shares two cores with other OPC UA suites; a keep-alive must not time out under that load
const REQUEST_TIMEOUT_MS = 2000;
const cfg = simulatorsSchema.parse({
  clock: { speed: 60, start: "2026-06-01T00:00:00Z" },
  chambers: [{ id: "chamber", port: 0, initialC: 25, timeConstantS: 300, maxRampKPerMin: 5 }],
  cyclers: [
    { id: "ua", protocol: "opcua", port: 0, channels: 6, chamber: "chamber", watchdogMs: 0, population: { seed: 21, serialPrefix: "UA" } },
    { id: "mb", protocol: "modbus", port: 0, channels: 6, watchdogMs: 0, population: { seed: 22, serialPrefix: "MB" } },
  ],
});

let pki: string;
let host: SimHost;
let control: SimControlServer;
const drivers = new Map<string, CyclerDriver>();
const linkStates = new Map<string, LinkState[]>();
let chamberDriver: ChamberDriver;

function newDriver(id: "ua" | "mb", pkiName: string, map: Awaited<ReturnType<typeof loadRegisterMap>>): CyclerDriver {
  const reconnect = { initialDelayMs: 50, maxDelayMs: 400 };
  if (id === "ua") return createOpcuaCyclerDriver({ endpointUrl: host.endpoint(id), equipmentId: id, requestTimeoutMs: REQUEST_TIMEOUT_MS, reconnect, pkiDir: path.join(pki, pkiName) });
  const url = new URL(host.endpoint(id));
  return createModbusCyclerDriver({ host: url.hostname, port: Number(url.port), unitId: 1, map, requestTimeoutMs: REQUEST_TIMEOUT_MS, equipmentId: id, reconnect });
}

let map: Awaited<ReturnType<typeof loadRegisterMap>>;
beforeAll(async () => {
  pki = await mkdtemp(path.join(tmpdir(), "axviam-sim-faults-"));
  map = await loadRegisterMap();
  host = await startSimHost(cfg, { configDir: CONFIG_DIR, pkiDir: path.join(pki, "server"), speed: "manual" });
  control = await startSimControlServer(host, { port: 0 });
  for (const id of ["ua", "mb"] as const) {
    const d = newDriver(id, "client", map);
    const states: LinkState[] = [];
    d.on("state", (s) => states.push(s));
    await d.connect();
    drivers.set(id, d);
    linkStates.set(id, states);
  }
  chamberDriver = createOpcuaChamberDriver({ endpointUrl: host.endpoint("chamber"), equipmentId: "chamber", requestTimeoutMs: REQUEST_TIMEOUT_MS, reconnect: { initialDelayMs: 50, maxDelayMs: 400 }, pkiDir: path.join(pki, "client") });
  await chamberDriver.connect();
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([...drivers.values()].map((d) => d.close()));
  await chamberDriver?.close();
  await control?.stop();
  await host?.stop();
  await rm(pki, { recursive: true, force: true });
});

async function api(method: "GET" | "PUT" | "POST", route: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${control.url}${route}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = await probe();
    if (hit !== undefined) return hit;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
const advance = (s: number) => host.env.clock.advanceBy(s);

/** 1 A charge for an hour; safety at the instrument's limits except 45 °C. */
const chargeProgram: Program = {
  id: "fault-probe",
  steps: [{ mode: "cc", currentA: 1, ends: [{ on: "time", op: ">=", value: 3600, then: "end" }], log: { everyS: 1 } }],
  safety: { maxVoltageV: 4.3, minVoltageV: 2.5, maxCurrentA: 5, maxTemperatureC: 45 },
};

describe.each(["ua", "mb"] as const)("faults seen by the %s driver", (id) => {
  const driver = () => drivers.get(id)!;
  const core = () => host.env.cyclers.get(id)!;
  const liveOf = async (channel: number) => (await driver().readLive())[channel - 1];
  const run = async (channel: number) => {
    await driver().load(channel, chargeProgram);
    await driver().command(channel, "start");
    advance(5);
    expect((await liveOf(channel)).state).toBe("running");
  };

  it("lists the instrument with its endpoint and serves its cells' ground truth only on the control API", async () => {
    const { json } = await api("GET", "/instruments");
    expect(json.simulated).toBe(true);
    expect(json.cyclers).toContainEqual(expect.objectContaining({ id, endpoint: host.endpoint(id), channelCount: 6, protocol: id === "ua" ? "opcua" : "modbus" }));
    const truth = await api("GET", `/cyclers/${id}/channels/2/truth`);
    expect(truth.json).toMatchObject({ serial: core().cell(2).serial, capacityAh: core().cell(2).truth().capacityAh, simulated: true });
    expect((await api("GET", `/cyclers/${id}/channels/7/truth`)).status).toBe(404);
  });

  it("hardware fault → channel state fault with alarm hardware; ack-fault refused until it clears", async () => {
    await run(1);
    expect((await api("PUT", `/cyclers/${id}/channels/1/faults/hardware`, { active: true })).status).toBe(200);
    expect(await liveOf(1)).toMatchObject({ state: "fault", alarmCode: ALARM_CODES.hardware, currentA: 0 });
    await expect(driver().command(1, "ack-fault")).rejects.toMatchObject({ kind: "rejected" });
    await api("PUT", `/cyclers/${id}/channels/1/faults/hardware`, { active: false });
    await driver().command(1, "ack-fault");
    expect(await liveOf(1)).toMatchObject({ state: "loaded", alarmCode: ALARM_CODES.none });
  });

  it("contact resistance → terminal voltage steps by I·R_contact; beyond the contact check the channel faults", async () => {
    await run(2);
    const before = await liveOf(2);
    const rOhm = 0.02;
    await api("PUT", `/cyclers/${id}/channels/2/faults/contact-resistance`, { ohm: rOhm });
    advance(1);
    const after = await liveOf(2);
    expect(after.state).toBe("running");
    // 1 A through 20 mΩ: +20 mV; the cell itself moves < 1 mV in that second of a 1 A charge
    expect(after.voltageV - before.voltageV).toBeGreaterThan(0.019);
    expect(after.voltageV - before.voltageV).toBeLessThan(0.021);
    expect((await api("GET", `/cyclers/${id}/channels/2/truth`)).json.contactResistanceOhm).toBe(rOhm);
    await api("PUT", `/cyclers/${id}/channels/2/faults/contact-resistance`, { ohm: 0.5 });
    advance(1);
    expect(await liveOf(2)).toMatchObject({ state: "fault", alarmCode: ALARM_CODES.contactResistance });
    await api("PUT", `/cyclers/${id}/channels/2/faults/contact-resistance`, { ohm: 0 });
  });

  it("over-temperature → the cell warms with its thermal lag until the 45 °C limit faults the channel", async () => {
    await run(3);
    await api("PUT", `/cyclers/${id}/channels/3/faults/over-temperature`, { heatingK: 40 });
    advance(60);
    const warming = await liveOf(3);
    expect(warming.state).toBe("running");
    expect(warming.temperatureC).toBeLessThan(45);
    advance(3600);
    const hot = await liveOf(3);
    expect(hot).toMatchObject({ state: "fault", alarmCode: ALARM_CODES.overTemperature });
    expect(hot.temperatureC).toBeGreaterThan(44.5);
    await api("PUT", `/cyclers/${id}/channels/3/faults/over-temperature`, { heatingK: 0 });
  });

  it("offline → state offline and commands refused; back online the cut program reports the hardware fault", async () => {
    await run(4);
    await api("PUT", `/cyclers/${id}/channels/4/faults/offline`, { offline: true });
    expect((await liveOf(4)).state).toBe("offline");
    await expect(driver().command(4, "pause")).rejects.toMatchObject({ kind: "rejected" });
    await api("PUT", `/cyclers/${id}/channels/4/faults/offline`, { offline: false });
    expect(await liveOf(4)).toMatchObject({ state: "fault", alarmCode: ALARM_CODES.hardware });
  });

  it("corrupted values → the driver flags invalidReading for that channel only", async () => {
    await api("PUT", `/front-ends/${id}/link`, { corruptChannels: [5] });
    const live = await driver().readLive();
    expect(live[4].alarmCode).toBe(ALARM_CODES.invalidReading);
    expect(live[5].alarmCode).not.toBe(ALARM_CODES.invalidReading);
    await api("PUT", `/front-ends/${id}/link`, { corruptChannels: [] });
    expect((await driver().readLive())[4].alarmCode).not.toBe(ALARM_CODES.invalidReading);
  });

  it("reboot → records cleared, channels offline then idle with alarm reboot; a new connection sees the new bootId", async () => {
    await run(6);
    advance(10);
    expect((await driver().readRecords(6, 0n, 100)).length).toBeGreaterThan(5);
    const bootBefore = core().info().bootId;
    const { json } = await api("POST", `/cyclers/${id}/reboot`, { downtimeS: 20 });
    expect(json.bootId).toBe(bootBefore + 1);
    const down = await driver().readLive();
    expect(down.every((c) => c.state === "offline" && c.lastSeq === 0n)).toBe(true);
    expect(await driver().readRecords(6, 0n, 100)).toEqual([]);
    advance(21);
    expect((await driver().readLive()).every((c) => c.state === "idle" && c.alarmCode === ALARM_CODES.reboot)).toBe(true);
    // same client PKI folder: no new certificate to generate (seconds of CPU on a loaded machine).
    // The OPC UA front-end publishes identification from its push loop (≤ 10 Hz, capped under load), so a client that
    // connects right after the reboot may still read the old BootId for a moment: poll, as a client would.
    const seen = await waitFor("a new connection to read the new bootId", async () => {
      const fresh = newDriver(id, "client", map);
      try {
        const boot = (await fresh.connect()).bootId;
        return boot === bootBefore + 1 ? boot : undefined;
      } finally {
        await fresh.close();
      }
    }, 20_000);
    expect(seen).toBe(bootBefore + 1);
  }, 30_000);
  it("delay beyond the request timeout → EquipmentError timeout; link drop → requests fail, then the driver reconnects", async () => {
    await api("PUT", `/front-ends/${id}/link`, { delayMs: REQUEST_TIMEOUT_MS + 800 });
    await expect(driver().readRecords(1, 0n, 5)).rejects.toMatchObject({ kind: "timeout" });
    await api("PUT", `/front-ends/${id}/link`, { delayMs: 0 });
    await waitFor("link usable after the delay", async () => ((await driver().readLive().catch(() => undefined)) ? true : undefined));

    const states = linkStates.get(id)!;
    const mark = states.length;
    try {
      expect((await api("PUT", `/front-ends/${id}/link`, { dropped: true })).json).toMatchObject({ dropped: true });
      // the OPC UA front-end applies a drop within one push period: wait until requests fail, as a client would see it
      const err = await waitFor("requests failing", () => driver().readLive().then(() => undefined, (e: unknown) => e), 20_000);
      expect(err).toBeInstanceOf(EquipmentError);
      expect(["unreachable", "timeout", "protocol"]).toContain((err as EquipmentError).kind);
      // (link-state transitions on a drop are pinned per driver by the CyclerDriver contract suite)
      await sleep(500); // several OPC UA push periods: the endpoint's suspend has been applied
    } finally {
      await api("PUT", `/front-ends/${id}/link`, { dropped: false, delayMs: 0 });
    }
    await sleep(500); // … and the restore
    await waitFor("usable again", () => driver().readLive().then((l) => l, () => undefined), 30_000);
    expect(states.slice(mark).at(-1)?.status ?? "connected").toBe("connected");
    expect((await driver().readLive()).length).toBe(6);
  }, 90_000);

});

describe("chamber faults seen by the OPC UA chamber driver", () => {
  it("heater failure → alarmCode heaterFailure, not stable, the air drifts back to the room", async () => {
    // a client certificate generated meanwhile can stall the loop past a keep-alive: let the link recover first
    await waitFor("chamber link up", async () => ((await chamberDriver.read().catch(() => undefined)) ? true : undefined), 20_000);
    await chamberDriver.setpoint(40);
    advance(3600);
    const held = await waitFor("chamber at 40 °C", async () => {
      const r = await chamberDriver.read();
      // values are pushed from the core's next poll, so wait for the new setpoint's state, not the old stable one
      return r.stable && r.setpointC === 40 ? r : undefined;
    });
    expect(Math.abs(held.actualC - 40)).toBeLessThan(0.2);
    expect((await api("PUT", "/chambers/chamber/failure", { kind: "heater" })).status).toBe(200);
    advance(1800);
    // 30 simulated minutes after the failure: the air is at 25 + 15·e^(−1800/900) ≈ 27 °C (passive τ = 3 × 300 s)
    const failed = await waitFor("heater failure and drift pushed", async () => {
      const r = await chamberDriver.read();
      return r.alarmCode !== 0 && r.actualC < 39 ? r : undefined;
    });
    expect(failed).toMatchObject({ alarmCode: CHAMBER_ALARM_CODES.heaterFailure, stable: false, setpointC: 40 });
    expect(failed.actualC).toBeCloseTo(25 + 15 * Math.exp(-2), 0);
    await api("PUT", "/chambers/chamber/failure", { kind: "none" });
  });

  it("refuses an unknown failure kind and an unknown chamber with the reason", async () => {
    const bad = await api("PUT", "/chambers/chamber/failure", { kind: "door" });
    expect(bad.status).toBe(400);
    expect(String(bad.json.error)).toMatch(/body\.kind/);
    expect((await api("PUT", "/chambers/nope/failure", { kind: "heater" })).status).toBe(404);
  });
});
