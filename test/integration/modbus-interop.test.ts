/**
 * Interoperability: the simulator's Modbus front-end read and written by mbpoll (libmodbus), a client we did not
 * write. Requests over 125 registers cannot be sent with mbpoll (it refuses counts > 125 itself); that exception
 * is exercised with a raw modbus-serial client in modbus-cycler.test.ts.
 */
import { execFile } from "node:child_process";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadRegisterMap } from "../../server/equipment/modbus/register-map.ts";
import { startModbusCyclerServer, type ModbusCyclerServer } from "../../simulators/modbus/cycler-server.ts";
import { createFakeSimCycler, type FakeSimCycler } from "../equipment/fake-sim-cycler.ts";
import { requireTools } from "../support/tools.ts";

beforeAll(() => requireTools("mbpoll"));

const map = await loadRegisterMap();
const LIVE_BASE = 1000;
const LIVE_SIZE = 27;

function mbpoll(port: number, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // -0: PDU (0-based) addresses as in the map; -1: poll once; -B: high word first for 32-bit values
  return new Promise((resolve) =>
    execFile("mbpoll", ["-m", "tcp", "-a", "1", "-p", String(port), "-0", "-1", "-o", "1", "127.0.0.1", ...args], { timeout: 10_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** mbpoll prints one "[address]: value" line per value. */
function values(stdout: string): Map<number, number> {
  return new Map([...stdout.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)].map((m) => [Number(m[1]), Number(m[2])]));
}

describe("mbpoll against the simulator's Modbus front-end", () => {
  let fake: FakeSimCycler;
  let server: ModbusCyclerServer;
  let heartbeats = 0;

  beforeEach(async () => {
    fake = createFakeSimCycler({ channelCount: 8, watchdogMs: 0 });
    heartbeats = 0;
    const cycler = { ...fake, heartbeat: () => (heartbeats++, fake.heartbeat()) };
    server = await startModbusCyclerServer({ cycler, port: 0, unitId: 1, map });
    fake.load(2, {
      id: "interop",
      steps: [{ mode: "cc", currentA: -2.5, ends: [{ on: "time", op: ">=", value: 1000, then: "end" }], log: { everyS: 1 } }],
      safety: { maxVoltageV: 4.2, minVoltageV: 2.5, maxCurrentA: 5, maxTemperatureC: 55 },
    });
    fake.command(2, "start");
    fake.advanceS(3);
  });
  afterEach(async () => {
    await server.stop();
  });

  it("reads channel 2's live block as 16-bit registers and as big-endian 32-bit integers", async () => {
    const at = LIVE_BASE + LIVE_SIZE; // block 1 = channel 2
    const words = await mbpoll(server.port, ["-t", "3", "-r", String(at), "-c", "8"]);
    expect(words.code, words.stderr).toBe(0);
    const w = values(words.stdout);
    const sim = fake.live()[1];
    expect(w.get(at)).toBe(2); // channel
    expect(w.get(at + 1)).toBe(2); // state 2 = running
    const ints = await mbpoll(server.port, ["-B", "-t", "3:int", "-r", String(at + 3), "-c", "2"]);
    expect(ints.code, ints.stderr).toBe(0);
    const v = values(ints.stdout);
    expect(v.get(at + 3)).toBe(Math.round(sim.voltageV * 1e5)); // 10 µV per count
    expect(v.get(at + 5)).toBe(-25_000_000); // −2.5 A at 0.1 µA per count, discharge < 0
  });

  it("gets 'Illegal data address' outside the map", async () => {
    const r = await mbpoll(server.port, ["-t", "3", "-r", "14000", "-c", "2"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Illegal data address/);
    const w = await mbpoll(server.port, ["-t", "4", "-r", "5", "--", "3"]);
    expect(w.code).not.toBe(0);
    expect(w.stderr).toMatch(/Illegal data address/);
  });

  it("writes the heartbeat register, which the cycler sees", async () => {
    const r = await mbpoll(server.port, ["-t", "4", "-r", "0", "--", "42"]);
    expect(r.code, r.stderr).toBe(0);
    expect(heartbeats).toBe(1);
    const back = await mbpoll(server.port, ["-t", "4", "-r", "0"]);
    expect(values(back.stdout).get(0)).toBe(42);
  });

  it("starts a loaded channel with one two-register command write", async () => {
    fake.load(3, { id: "p3", steps: [{ mode: "rest", ends: [{ on: "time", op: ">=", value: 100, then: "end" }], log: { everyS: 1 } }], safety: { maxVoltageV: 4.2, minVoltageV: 2.5, maxCurrentA: 5, maxTemperatureC: 55 } });
    const r = await mbpoll(server.port, ["-t", "4", "-r", "10", "--", "3", "1"]); // channel 3, command 1 = start
    expect(r.code, r.stderr).toBe(0);
    expect(fake.live()[2].state).toBe("running");
  });
});
