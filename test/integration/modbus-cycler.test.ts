/**
 * The Modbus TCP driver against the simulator's Modbus front-end on loopback: the shared CyclerDriver contract,
 * then what is specific to Modbus (read splitting, request limits, out-of-map writes).
 */
import { once } from "node:events";
import net from "node:net";
import ModbusSerial from "modbus-serial";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ChannelLive, ChannelRecord } from "../../server/domain/equipment/channel.ts";
import { createModbusCyclerDriver } from "../../server/equipment/modbus/modbus-cycler-driver.ts";
import { loadRegisterMap } from "../../server/equipment/modbus/register-map.ts";
import { startModbusCyclerServer, type ModbusCyclerServer } from "../../simulators/modbus/cycler-server.ts";
import { cyclerDriverContract } from "../equipment/cycler-driver.contract.ts";
import { createFakeSimCycler, type FakeSimCycler } from "../equipment/fake-sim-cycler.ts";
import { newLot } from "../../simulators/cell/population.ts";
import { createSimCycler } from "../../simulators/cycler/sim-cycler.ts";

const map = await loadRegisterMap();
const REQUEST_TIMEOUT_MS = 400;

/**
 * The fake core reports unrounded doubles; a real instrument reports at its resolution. These are the map's
 * resolutions (counts per unit), written out here independently of the codec.
 */
const q = (x: number, countsPerUnit: number) => Math.round(x * countsPerUnit) / countsPerUnit;
const liveAtResolution = (l: ChannelLive): ChannelLive => ({
  ...l,
  voltageV: q(l.voltageV, 1e5),
  currentA: q(l.currentA, 1e7),
  temperatureC: q(l.temperatureC, 1e2),
  stepCapacityAh: q(l.stepCapacityAh, 1e6),
  stepEnergyWh: q(l.stepEnergyWh, 1e6),
  stepTimeS: q(l.stepTimeS, 1e3),
  testTimeS: q(l.testTimeS, 1e3),
});
const recordAtResolution = (r: ChannelRecord): ChannelRecord => ({
  ...r,
  unixTimeS: q(r.unixTimeS, 1e3),
  testTimeS: q(r.testTimeS, 1e3),
  voltageV: q(r.voltageV, 1e5),
  currentA: q(r.currentA, 1e7),
  temperatureC: q(r.temperatureC, 1e2),
  chargeAh: q(r.chargeAh, 1e6),
  dischargeAh: q(r.dischargeAh, 1e6),
  chargeWh: q(r.chargeWh, 1e6),
  dischargeWh: q(r.dischargeWh, 1e6),
});
function atInstrumentResolution(fake: FakeSimCycler): FakeSimCycler {
  return {
    ...fake,
    live: () => fake.live().map(liveAtResolution),
    records: (channel, afterSeq, max) => fake.records(channel, afterSeq, max).map(recordAtResolution),
  };
}

async function startRig(channelCount: number, watchdogMs: number) {
  const fake = createFakeSimCycler({ channelCount, watchdogMs });
  const sim = atInstrumentResolution(fake);
  let liveCalls = 0;
  const counted = { ...sim, live: () => (liveCalls++, sim.live()) };
  const server = await startModbusCyclerServer({ cycler: counted, port: 0, unitId: 1, map });
  const driver = createModbusCyclerDriver({
    host: "127.0.0.1",
    port: server.port,
    unitId: 1,
    map,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    equipmentId: "cycler-test",
    reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
  });
  return { fake, sim, server, driver, liveCalls: () => liveCalls };
}

cyclerDriverContract("modbus tcp (fake core)", async ({ watchdogMs }) => {
  const rig = await startRig(8, watchdogMs);
  return {
    driver: rig.driver,
    sim: rig.sim,
    faults: rig.server.faults,
    advanceS: async (s) => rig.fake.advanceS(s),
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    watchdogMs,
    teardown: async () => {
      await rig.driver.close();
      await rig.server.stop();
    },
  };
});

cyclerDriverContract("modbus tcp (simulated cycler core)", async ({ watchdogMs }) => {
  const cells = newLot({ seed: 7, count: 8, chemistry: "nmc811-graphite", serialPrefix: "MBS" });
  const sim = createSimCycler({ id: "sim-modbus", cells, watchdogMs, startUnixS: 1_800_000_000 });
  const server = await startModbusCyclerServer({ cycler: sim, port: 0, unitId: 1, map });
  const driver = createModbusCyclerDriver({ host: "127.0.0.1", port: server.port, unitId: 1, map, requestTimeoutMs: REQUEST_TIMEOUT_MS, reconnect: { initialDelayMs: 50, maxDelayMs: 400 } });
  return {
    driver,
    sim,
    faults: server.faults,
    advanceS: async (s) => sim.advance(s),
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    watchdogMs,
    teardown: async () => {
      await driver.close();
      await server.stop();
    },
  };
});

describe("modbus driver specifics", () => {
  let rig: Awaited<ReturnType<typeof startRig>>;
  beforeEach(async () => {
    rig = await startRig(37, 0);
    await rig.driver.connect();
  });
  afterEach(async () => {
    await rig.driver.close();
    await rig.server.stop();
  });

  it("reads 37 channels in ⌈37 / 4⌉ = 10 requests of whole 27-register blocks", async () => {
    expect(await rig.driver.readLive()).toEqual(rig.sim.live()); // first poll also reads each program id once
    const before = rig.server.requestsServed(4);
    const live = await rig.driver.readLive();
    expect(rig.server.requestsServed(4) - before).toBe(10);
    expect(live.map((c) => c.channel)).toEqual(Array.from({ length: 37 }, (_, i) => i + 1));
  });

  it("reads the program id only when its CRC changes", async () => {
    rig.sim.load(5, { id: "pid-A", steps: [{ mode: "rest", ends: [{ on: "time", op: ">=", value: 1, then: "end" }], log: { everyS: 1 } }], safety: { maxVoltageV: 4.2, minVoltageV: 2.5, maxCurrentA: 5, maxTemperatureC: 55 } });
    expect((await rig.driver.readLive())[4].programId).toBe("pid-A");
    const before = rig.server.requestsServed(4);
    await rig.driver.readLive();
    expect(rig.server.requestsServed(4) - before).toBe(10); // the live blocks only, no programId block
  });

  it("pipelines the poll's reads and a record page's request + read as the map's maxRequestsInFlight allows, one at a time where it says 1", async () => {
    const program = { id: "rec", steps: [{ mode: "rest" as const, ends: [{ on: "time" as const, op: ">=" as const, value: 500, then: "end" as const }], log: { everyS: 1 } }], safety: { maxVoltageV: 4.2, minVoltageV: 2.5, maxCurrentA: 5, maxTemperatureC: 55 } };
    await rig.driver.load(2, program);
    await rig.driver.command(2, "start");
    rig.fake.advanceS(2); // a few records: one page, within the first 125-register read (header 8 + 4 × 29 registers)
    const DELAY_MS = 100; // per request, on the server: 10 live reads one at a time take ≥ 1 s, a record page ≥ 0.2 s
    const timed = async <T>(f: () => Promise<T>) => {
      rig.server.faults.delayMs = DELAY_MS;
      const t0 = performance.now();
      const value = await f();
      rig.server.faults.delayMs = 0;
      return { value, ms: performance.now() - t0 };
    };
    expect(map.maxRequestsInFlight).toBeGreaterThanOrEqual(10);
    const live = await timed(() => rig.driver.readLive());
    expect(live.value).toEqual(rig.sim.live());
    expect(live.ms).toBeLessThan(5 * DELAY_MS);
    const records = await timed(() => rig.driver.readRecords(2, 0n, 10));
    expect(records.value).toEqual(rig.sim.records(2, 0n, 10));
    expect(records.value.length).toBeGreaterThan(0);
    expect(8 + 29 * records.value.length).toBeLessThanOrEqual(125);
    expect(records.ms).toBeLessThan(2 * DELAY_MS);
    const serial = createModbusCyclerDriver({ host: "127.0.0.1", port: rig.server.port, unitId: 1, map: { ...map, maxRequestsInFlight: 1 }, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    try {
      await serial.connect();
      await serial.readLive(); // first poll reads every program id once
      const serialLive = await timed(() => serial.readLive());
      expect(serialLive.value).toEqual(rig.sim.live());
      expect(serialLive.ms).toBeGreaterThanOrEqual(10 * DELAY_MS - 1);
      const serialRecords = await timed(() => serial.readRecords(2, 0n, 10));
      expect(serialRecords.value).toEqual(records.value);
      expect(serialRecords.ms).toBeGreaterThanOrEqual(2 * DELAY_MS - 1);
    } finally {
      await serial.close();
    }
  });

  it("answers requests sent together in order (a write before the read that follows it), from one reading of the channels", async () => {
    // raw Modbus TCP frames, built here from the protocol spec: MBAP (tid, protocol 0, length, unit) + PDU
    const frame = (tid: number, pdu: number[]) => {
      const b = Buffer.alloc(7 + pdu.length);
      b.writeUInt16BE(tid, 0);
      b.writeUInt16BE(1 + pdu.length, 4);
      b[6] = 1;
      Buffer.from(pdu).copy(b, 7);
      return b;
    };
    const u16 = (x: number) => [x >> 8, x & 0xff];
    const read4 = (tid: number, address: number, count: number) => frame(tid, [4, ...u16(address), ...u16(count)]);
    // recordRequest at 100: channel 3, afterSeq 7 (u64), max 2; then the window header at 40000; then 10 live blocks
    const requestWords = [3, 0, 0, 0, 7, 2];
    const frames = [frame(1, [16, ...u16(100), ...u16(6), 12, ...requestWords.flatMap(u16)]), read4(2, 40000, 6), ...Array.from({ length: 10 }, (_, k) => read4(3 + k, 1000 + 27 * k, 27))];
    const sock = net.connect(rig.server.port, "127.0.0.1");
    await once(sock, "connect");
    const before = rig.liveCalls();
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const all = new Promise<void>((resolve) =>
      sock.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 6 && pending.length >= 6 + pending.readUInt16BE(4)) {
          replies.push(pending.subarray(0, 6 + pending.readUInt16BE(4)));
          pending = pending.subarray(6 + pending.readUInt16BE(4));
        }
        if (replies.length === frames.length) resolve();
      }),
    );
    sock.write(Buffer.concat(frames));
    await all;
    sock.destroy();
    expect(replies.map((r) => r.readUInt16BE(0))).toEqual(frames.map((_, i) => i + 1));
    expect([...replies[0].subarray(7)]).toEqual([16, ...u16(100), ...u16(6)]);
    const header = replies[1].subarray(9);
    expect([header.readUInt16BE(0), header.readUInt16BE(8), header.readUInt16BE(10)]).toEqual([3, 7, 0]); // echo of the write before it
    expect(replies.slice(2).map((r) => r.readUInt16BE(9))).toEqual(Array.from({ length: 10 }, (_, k) => k + 1)); // block k holds channel k + 1
    expect(rig.liveCalls() - before).toBe(1);
  });

  it("pages a large readRecords through the 32-slot window with no gap", async () => {
    const program = { id: "many", steps: [{ mode: "rest" as const, ends: [{ on: "time" as const, op: ">=" as const, value: 500, then: "end" as const }], log: { everyS: 1 } }], safety: { maxVoltageV: 4.2, minVoltageV: 2.5, maxCurrentA: 5, maxTemperatureC: 55 } };
    await rig.driver.load(2, program);
    await rig.driver.command(2, "start");
    rig.fake.advanceS(120);
    const got = await rig.driver.readRecords(2, 0n, 100);
    expect(got).toEqual(rig.sim.records(2, 0n, 100));
    expect(got.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i + 1)));
  });

  it("queues concurrent calls so one request is in flight and every answer is right", async () => {
    const program = { id: "q", steps: [{ mode: "rest" as const, ends: [{ on: "time" as const, op: ">=" as const, value: 500, then: "end" as const }], log: { everyS: 1 } }], safety: { maxVoltageV: 4.2, minVoltageV: 2.5, maxCurrentA: 5, maxTemperatureC: 55 } };
    await rig.driver.load(1, program);
    await rig.driver.command(1, "start");
    rig.fake.advanceS(50);
    const calls = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 0 ? rig.driver.readLive() : i % 3 === 1 ? rig.driver.readRecords(1, BigInt(i), 5) : rig.driver.heartbeat(),
    );
    const results = await Promise.all(calls);
    results.forEach((r, i) => {
      if (i % 3 === 0) expect(r).toEqual(rig.sim.live());
      if (i % 3 === 1) expect(r).toEqual(rig.sim.records(1, BigInt(i), 5));
    });
  });

  it("reports a link that never answers as unreachable on connect", async () => {
    const port = rig.server.port;
    await rig.server.stop();
    const lonely = createModbusCyclerDriver({ host: "127.0.0.1", port, unitId: 1, map, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    await expect(lonely.connect()).rejects.toMatchObject({ name: "EquipmentError", kind: "unreachable" });
    await lonely.close();
    rig.server = await startModbusCyclerServer({ cycler: rig.sim, port: 0, unitId: 1, map });
  });
});

describe("simulator Modbus front-end, seen by a plain modbus-serial client", () => {
  let server: ModbusCyclerServer;
  let fake: FakeSimCycler;
  let client: InstanceType<typeof ModbusSerial.default>;
  const code = async (p: Promise<unknown>) => p.then(() => "ok", (e: { modbusCode?: number }) => e.modbusCode);

  beforeEach(async () => {
    fake = createFakeSimCycler({ channelCount: 8, watchdogMs: 0 });
    server = await startModbusCyclerServer({ cycler: fake, port: 0, unitId: 1, map });
    client = new ModbusSerial.default();
    client.setTimeout(1000);
    await client.connectTCP("127.0.0.1", { port: server.port });
    client.setID(1);
  });
  afterEach(async () => {
    await new Promise((r) => client.close(r));
    await server.stop();
  });

  it("port 0 binds an ephemeral port and reports it", () => {
    expect(server.port).toBeGreaterThan(1023);
    expect(server.port).not.toBe(502);
  });

  it("answers 125 registers and refuses 126, 128 and 200 with exception 0x03", async () => {
    expect((await client.readInputRegisters(1000, 125)).data).toHaveLength(125);
    for (const n of [126, 128, 200]) expect(await code(client.readInputRegisters(1000, n))).toBe(0x03);
    expect(await code(client.readHoldingRegisters(1100, 126))).toBe(0x03);
  });

  it("refuses a write of 124 registers with 0x03 and one of 123 into the step table succeeds", async () => {
    expect(await code(client.writeRegisters(1100, new Array(124).fill(0)))).toBe(0x03);
    expect(await code(client.writeRegisters(1100, new Array(123).fill(7)))).toBe("ok");
    expect((await client.readHoldingRegisters(1100, 3)).data).toEqual([7, 7, 7]);
  });

  it("answers 0x02 outside the map and never changes state for a refused write", async () => {
    expect(await code(client.readInputRegisters(14000, 2))).toBe(0x02);
    expect(await code(client.readInputRegisters(1000 + 8 * 27, 27))).toBe(0x02); // channel 9 of 8
    expect(await code(client.writeRegisters(5, [1, 2]))).toBe(0x02); // gap between heartbeat and command
    expect(await code(client.writeRegisters(1000 - 1, [1, 2]))).toBe(0x02); // straddles the step-table header
    expect(await code(client.writeRegister(38000, 1))).toBe(0x02); // commandResult is an input block
    // half a command (trigger blocks must be written whole): refused, and no command ran
    fake.load(1, { id: "p", steps: [{ mode: "rest", ends: [{ on: "time", op: ">=", value: 9, then: "end" }], log: { everyS: 1 } }], safety: { maxVoltageV: 4.2, minVoltageV: 2.5, maxCurrentA: 5, maxTemperatureC: 55 } });
    expect(await code(client.writeRegister(11, 1))).toBe(0x02);
    expect(await code(client.writeRegisters(10, [1]))).toBe(0x02);
    expect(fake.live()[0].state).toBe("loaded");
    expect((await client.readHoldingRegisters(10, 2)).data).toEqual([0, 0]);
  });

  it("a rejected command answers 0x04 and leaves its reason readable", async () => {
    expect(await code(client.writeRegisters(10, [1, 1]))).toBe(0x04); // start on an idle channel
    const words = (await client.readInputRegisters(38000, 43)).data;
    expect(words.slice(0, 3)).toEqual([3, 1, 1]); // bad-state, command 1 (start), channel 1
    const text = String.fromCharCode(...words.slice(3).flatMap((w) => [w >> 8, w & 0xff]).filter((b) => b !== 0));
    expect(text).toMatch(/channel 1: cannot start while idle/);
  });
});
