/**
 * Restart (issue 4): the station process is SIGKILLed twice in the middle of a lot and started again; the
 * cycler — a separate simulator that keeps running — holds the records meanwhile. Every run must resume and
 * finish, and every trace must hold exactly the records the cycler logged: no gap, no duplicate.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulatorsSchema } from "../../server/config/station-config.schema.ts";
import { readTrace } from "../../server/store/trace-store.ts";
import { startSimHost, type SimHost } from "../../simulators/sim-host.ts";
import { CONFIG_DIR, waitFor } from "../support/station.ts";
import { loginClient, startStationProcess, writeStationFolder, type StationProcess } from "../support/station-process.ts";

const CHANNELS = 4;
const RECIPE = `
name: restart_check
version: 1.0.0
description: Three short phases, logged densely, to SIGKILL the station in the middle of.
kind: imprint
safety: { maxVoltageV: 4.25, minVoltageV: 2.45, maxCurrent: 1C, maxTemperatureC: 55 }
phases:
  - name: one
    steps:
      - CC discharge C/5 for 10% capacity to 2.5 V log every 5 s
      - rest 1 h log every 5 s
  - name: two
    steps:
      - CC charge C/5 for 10% capacity to 4.2 V log every 5 s
      - rest 1 h log every 5 s
  - name: three
    steps:
      - rest 2 h log every 5 s
analysis: {}
`;

describe("station restart after SIGKILL", () => {
  let sims: SimHost;
  let dir: string;
  let station: StationProcess | undefined;
  let configFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "axviam-restart-"));
    sims = await startSimHost(
      simulatorsSchema.parse({
        enabled: true,
        clock: { speed: 600 },
        cyclers: [{ id: "sim-cycler", protocol: "opcua", port: 0, channels: CHANNELS, watchdogMs: 60_000, population: { seed: 3, serialPrefix: "RST" } }],
      }),
      { configDir: CONFIG_DIR, pkiDir: path.join(dir, "sim-pki") },
    );
    configFile = writeStationFolder({
      dir,
      stationId: "restart-test",
      cyclers: [{ id: "cycler-1", protocol: "opcua", endpoint: sims.endpoint("sim-cycler"), channels: CHANNELS }],
      recipes: { restart_check: RECIPE },
    }).configFile;
  });

  afterAll(async () => {
    await station?.kill();
    await sims?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("resumes every run with no gap and no duplicate record, while the cycler kept running", async () => {
    station = startStationProcess(configFile);
    const pin = await station.adminPin;
    expect(pin).toMatch(/^\d{6}$/);
    const first = await loginClient(await station.port, "admin", pin!);
    expect((await first.call("POST", "/api/auth/change-pin", { currentPin: pin, newPin: "482916" })).status).toBe(200);
    await waitFor("cycler connected", async () => ((await first.call("GET", "/api/health")).json.links as { status: string }[]).some((l) => l.status === "connected") || undefined);
    const sim = sims.env.cyclers.get("sim-cycler")!;
    const started = await first.call("POST", "/api/lots", {
      name: "restart", recipe: "restart_check", cyclerId: "cycler-1", nominalCapacityAh: 5, chemistry: "nmc811-graphite",
      cells: Array.from({ length: CHANNELS }, (_, i) => ({ slot: i + 1, serial: sim.cell(i + 1).serial })),
    });
    expect(started.status).toBe(201);
    const lotId = (started.json as { id: string }).id;
    type LotDetail = { lot: { phaseIndex: number; state: string }; runs: { id: string; channel: number; state: string; startSeq?: string; reason?: string }[] };
    const restart = async () => {
      station = startStationProcess(configFile);
      const client = await loginClient(await station.port, "admin", "482916");
      return async () => (await client.call("GET", `/api/lots/${lotId}`)).json as unknown as LotDetail;
    };

    // Kill 1: in phase one, once records flow. Kill 2: after the restart, once phase two runs.
    await waitFor("records of phase one", () => (sim.live()[0].state === "running" && sim.live()[0].lastSeq > 20n) || undefined);
    await station.kill();
    const seqAtKill = sim.live()[0].lastSeq;
    await waitFor("cycler logging on without the station", () => sim.live()[0].lastSeq > seqAtKill + 50n || undefined, 30_000);

    const lotAfterFirst = await restart();
    await waitFor("phase two running after the restart", async () => ((await lotAfterFirst()).lot.phaseIndex >= 1 && sim.live()[0].programId.endsWith("/two") && sim.live()[0].state === "running") || undefined, 60_000);
    await station.kill();

    const lotAfterSecond = await restart();
    const done = await waitFor("lot complete after two restarts", async () => {
      const d = await lotAfterSecond();
      return d.lot.state === "complete" || d.lot.state === "aborted" ? d : undefined;
    }, 120_000, 250);
    expect(done.runs.map((r) => `${r.state}${r.state === "complete" ? "" : `: ${r.reason}`}`)).toEqual(Array(CHANNELS).fill("complete"));
    expect(done.lot.state).toBe("complete");

    for (const run of done.runs) {
      const trace = readTrace(path.join(dir, "data", "traces", lotId, `${run.id}.csv`)).map((r) => r.seq);
      const logged = sim.records(run.channel, BigInt(run.startSeq ?? "0"), 1_000_000).map((r) => r.seq);
      expect(trace.length).toBeGreaterThan(100);
      expect(new Set(trace).size).toBe(trace.length); // no duplicate
      expect(trace).toEqual(logged.slice(0, trace.length)); // exactly the cycler's records, in order, no gap
      expect(trace[trace.length - 1]).toBeGreaterThanOrEqual(logged[logged.length - 1] - 1n); // nothing left behind
    }
  }, 240_000);
});
