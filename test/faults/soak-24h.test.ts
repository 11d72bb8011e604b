/**
 * SOAK TEST (issue 9): a lot of more than 24 h of simulated equipment time at high clock speed, with faults sprinkled
 * in through the simulators' control API, ending with every record accounted for.
 *
 * Lot A — 4 cells on an OPC UA cycler in a chamber, recipe soak_24h (five C/2 cycles, DCIR, OCV and K-value rest,
 * ≈ 29 h per cell) — lives through, at fixed points of simulated time: a dropped link and its reconnect, requests
 * slower than the driver's timeout, corrupted (out-of-range) live values on one channel, and a chamber heater failure.
 * It must finish and be graded with every trace equal to the cycler's own log.
 * Lot B — 2 cells on a Modbus cycler — is interrupted by a reboot of that cycler (record buffer cleared): both runs
 * end aborted with the reason, and every record the cycler produced before the reboot is either in the trace or
 * named lost by that reason (all after the seq the reason states) — no silent gap.
 * Alarms: each fault raises its alarm and, once repaired, the alarm returns to normal (ISA-18.2).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALARM_CODES, type ChannelRecord } from "../../server/domain/equipment/channel.ts";
import type { LotGrade } from "../../server/domain/grading/lot-grading.ts";
import type { Alarm } from "../../server/station/alarms.ts";
import { startSimControlServer, type SimControlServer } from "../../simulators/control/control-server.ts";
import { accountTrace, unparsableJsonFiles } from "../support/data-integrity.ts";
import { startTestStation, waitFor, type TestStation } from "../support/station.ts";

/** simulated seconds per wall second: 29 h of equipment time in ≈ 90 s */
const SIM_SPEED = 1200;
const HOUR_S = 3600;

const SOAK_RECIPE = `
name: soak_24h
version: 1.0.0
description: Soak test lot (SIMULATED equipment) — five C/2 cycles, IEC 61960 DCIR at 50 % SOC, OCV and a 3 h K-value rest; about 29 h per cell.
chemistry: nmc811-graphite
kind: imprint
safety: { maxVoltageV: 4.25, minVoltageV: 2.45, maxCurrent: 1.2C, maxTemperatureC: 55, minTemperatureC: 10, maxCapacity: 110% }
phases:
  - name: cycling
    chamber: { setpointC: 25, waitStable: true }
    steps:
      - log every 60 s on 5 mV
      - step: CCCV charge C/2 to 4.2 V until C/10 for 3 h
        role: capacity-charge
      - rest 10 min
      - step: CC discharge C/2 to 2.5 V
        role: capacity-discharge
      - rest 10 min
      - repeat steps 2-5 5 times
  - name: half-charge
    steps:
      - CC charge C/2 for 50% capacity to 4.2 V log every 60 s
      - rest 30 min log every 60 s
  - name: dcir
    steps:
      - step: rest 1 min log every 1 s
        role: dcir-rest
      - step: discharge pulse 0.2C for 10 s then 1C for 1 s to 2.5 V log every 0.1 s
        role: dcir-pulse
      - rest 5 min log every 1 s
  - name: self-discharge
    steps:
      - step: rest 30 min log every 60 s
        role: ocv-rest
      - step: rest 3 h log every 5 min on 0.5 mV
        role: self-discharge-rest
analysis:
  capacity: { charge: capacity-charge, discharge: capacity-discharge }
  dcir: { rest: dcir-rest, pulse: dcir-pulse }
  ocv: { rest: ocv-rest }
  kValue: { rest: self-discharge-rest, excludeFirstMin: 30 }
grading: quick_check
`;

const REBOOT_RECIPE = `
name: soak_reboot
version: 1.0.0
description: Soak test companion lot (SIMULATED) on a second cycler, to be interrupted by its reboot.
kind: imprint
safety: { maxVoltageV: 4.25, minVoltageV: 2.45, maxCurrent: 1C, maxTemperatureC: 55 }
phases:
  - name: discharge-rest
    steps:
      - CC discharge C/5 for 20% capacity to 2.5 V log every 30 s
      - rest 6 h log every 30 s
analysis: {}
`;

describe("SOAK: a 24 h+ simulated lot with faults sprinkled in", () => {
  let station: TestStation;
  let control: SimControlServer;
  let recipesDir: string;
  const alarmLog: { source: string; condition: string; state: Alarm["state"] }[] = [];

  beforeAll(async () => {
    recipesDir = mkdtempSync(path.join(os.tmpdir(), "axviam-soak-recipes-"));
    writeFileSync(path.join(recipesDir, "soak_24h.yaml"), SOAK_RECIPE);
    writeFileSync(path.join(recipesDir, "soak_reboot.yaml"), REBOOT_RECIPE);
    station = await startTestStation({
      overrides: { simSpeed: SIM_SPEED, tickMs: 100 },
      config: {
        recipesDir,
        simulators: {
          enabled: true,
          clock: { speed: SIM_SPEED },
          cyclers: [
            { id: "sim-a", protocol: "opcua", port: 0, channels: 4, chamber: "sim-chamber", watchdogMs: 0, population: { seed: 24, serialPrefix: "SKA" } },
            { id: "sim-b", protocol: "modbus", port: 0, channels: 2, watchdogMs: 0, population: { seed: 25, serialPrefix: "SKB" } },
          ],
          chambers: [{ id: "sim-chamber", port: 0 }],
        },
        equipment: {
          cyclers: [
            { id: "cycler-1", protocol: "opcua", simulator: "sim-a", channels: 4, chamber: "chamber-1", pollIntervalMs: 200, heartbeatIntervalMs: 500, requestTimeoutMs: 1500 },
            { id: "cycler-2", protocol: "modbus", simulator: "sim-b", channels: 2, pollIntervalMs: 200, heartbeatIntervalMs: 500 },
          ],
          chambers: [{ id: "chamber-1", simulator: "sim-chamber" }],
        },
      },
    });
    station.service.onAlarm((a) => alarmLog.push({ source: a.source, condition: a.condition, state: a.state }));
    control = await startSimControlServer(station.sims!, { port: 0 });
    await waitFor("both cyclers connected", () => (station.monitors.get("cycler-1")!.info() && station.monitors.get("cycler-2")!.info()) || undefined, 60_000);
  }, 120_000);

  afterAll(async () => {
    await control?.stop();
    await station?.close();
    rmSync(recipesDir, { recursive: true, force: true });
  });

  it("finishes and grades the 24 h lot with every record in its trace, and accounts for every record of the rebooted cycler", async () => {
    const clock = station.sims!.env.clock;
    const simA = station.sims!.env.cyclers.get("sim-a")!;
    const simB = station.sims!.env.cyclers.get("sim-b")!;
    const put = async (url: string, body: unknown) => {
      const res = await fetch(`${control.url}${url}`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(res.status, `PUT ${url}`).toBe(200);
    };
    const atSimHours = (h: number, from: number) => waitFor(`simulated hour ${h}`, () => (clock.elapsedS() - from >= h * HOUR_S ? true : undefined), 300_000, 50);
    const alarmWent = (source: string, condition: string, state: "active" | "returned") =>
      waitFor(`${source} ${condition} ${state}`, () => {
        const a = station.service.alarms.history(5000).find((x) => x.source === source && x.condition === condition);
        if (!a) return undefined;
        const active = a.state === "active-unack" || a.state === "active-ack";
        return (state === "active") === active ? a : undefined;
      }, 60_000, 50);
    const started = Date.now();
    const faultLog: string[] = [];
    const note = (what: string) => faultLog.push(`${((Date.now() - started) / 1000).toFixed(1)} s wall, ${(clock.elapsedS() / HOUR_S).toFixed(1)} h simulated: ${what}`);

    const lotA = await station.service.startLot({
      name: "soak-24h", recipe: "soak_24h", cyclerId: "cycler-1", nominalCapacityAh: 5, chemistry: "nmc811-graphite", operator: "soak",
      cells: [1, 2, 3, 4].map((ch) => ({ slot: ch, serial: simA.cell(ch).serial })),
    });
    const lotB = await station.service.startLot({
      name: "soak-reboot", recipe: "soak_reboot", cyclerId: "cycler-2", nominalCapacityAh: 5, chemistry: "nmc811-graphite", operator: "soak",
      cells: [1, 2].map((ch) => ({ slot: ch, serial: simB.cell(ch).serial })),
    });
    const t0 = clock.elapsedS();
    note("lots started");

    // 1. Link drop and reconnect (OPC UA cycler): alarm, then back to normal; the cycler buffers meanwhile.
    await atSimHours(2, t0);
    await put("/front-ends/sim-a/link", { dropped: true });
    note("link to sim-a dropped");
    await alarmWent("cycler-1", "link-lost", "active");
    await atSimHours(4, t0);
    await put("/front-ends/sim-a/link", { dropped: false });
    await alarmWent("cycler-1", "link-lost", "returned");
    note("link to sim-a back, alarm returned to normal");

    // 2. Cycler reboot (Modbus cycler, lot B in its rest): the buffer is cleared. What it produced is snapshot in the
    //    same synchronous turn as the reboot, so nothing is logged in between (the control API's POST would not be).
    await atSimHours(5, t0);
    const runsB = (await station.service.lot(lotB.id)).runs;
    const producedB = new Map<number, ChannelRecord[]>(runsB.map((r) => [r.channel, simB.records(r.channel, BigInt(r.startSeq!), 1_000_000)]));
    simB.faults.reboot(1800);
    note(`sim-b rebooted (produced ${[...producedB.values()].map((r) => r.length).join("/")} records per run before)`);

    // 3. Requests slower than the driver's timeout: the link is lost by failed reads, then returns.
    await atSimHours(7, t0);
    await put("/front-ends/sim-a/link", { delayMs: 4000 });
    note("sim-a answers after 4 s (driver timeout 1.5 s)");
    await alarmWent("cycler-1", "link-lost", "active");
    await put("/front-ends/sim-a/link", { delayMs: 100 });
    await alarmWent("cycler-1", "link-lost", "returned");
    await put("/front-ends/sim-a/link", { delayMs: 0 });
    note("sim-a answers promptly again, alarm returned to normal");

    // 4. Out-of-range live values on channel 2: flagged invalidReading with no number and alarmed, never a record of
    //    the trace, and the alarm returns to normal with sane values.
    await atSimHours(10, t0);
    await put("/front-ends/sim-a/link", { corruptChannels: [2] });
    const view = (ch: number) => station.hub.channels().find((c) => c.cyclerId === "cycler-1" && c.channel === ch);
    await waitFor("channel 2 flagged invalid", () => (view(2)?.alarmCode === ALARM_CODES.invalidReading ? true : undefined), 20_000, 50);
    await alarmWent("cycler-1/2", "invalid-reading", "active");
    expect(Number.isNaN(view(2)!.voltageV)).toBe(true);
    expect([1, 3, 4].map((ch) => view(ch)!.alarmCode)).toEqual([0, 0, 0]);
    await atSimHours(11, t0);
    await put("/front-ends/sim-a/link", { corruptChannels: [] });
    await waitFor("channel 2 sane again", () => (view(2)?.alarmCode === ALARM_CODES.none && view(2)!.voltageV > 2.4 ? true : undefined), 20_000, 50);
    await alarmWent("cycler-1/2", "invalid-reading", "returned");
    note("channel 2 served out-of-range values for 1 h simulated");

    // 5. Chamber heater failure and repair.
    await atSimHours(14, t0);
    await put("/chambers/sim-chamber/failure", { kind: "heater" });
    await alarmWent("chamber-1", "chamber-failure", "active");
    note("chamber heater failed");
    await atSimHours(15, t0);
    await put("/chambers/sim-chamber/failure", { kind: "none" });
    await alarmWent("chamber-1", "chamber-failure", "returned");
    note("chamber repaired, alarm returned to normal");

    // 6. A second link drop late in the lot, spanning its last phase boundaries (the lot waits, the cycler does not).
    await atSimHours(23.5, t0);
    await put("/front-ends/sim-a/link", { dropped: true });
    await alarmWent("cycler-1", "link-lost", "active");
    note("link to sim-a dropped again");
    await atSimHours(25, t0);
    await put("/front-ends/sim-a/link", { dropped: false });
    await alarmWent("cycler-1", "link-lost", "returned");
    note("link to sim-a back, alarm returned to normal");

    const detailA = await waitFor("soak lot finished", async () => {
      const d = await station.service.lot(lotA.id);
      return d.lot.state === "complete" || d.lot.state === "aborted" ? d : undefined;
    }, 300_000, 250);
    const detailB = await station.service.lot(lotB.id);
    note(`soak lot ${detailA.lot.state}`);
    console.log(`SOAK (clock ${SIM_SPEED}×, simulated):\n  ${faultLog.join("\n  ")}`);

    // Lot A: complete, graded, more than 24 h of equipment time per cell, every record in its trace once.
    expect(detailA.runs.map((r) => `${r.serial}: ${r.state}${r.reason ? ` (${r.reason})` : ""}`)).toEqual(detailA.runs.map((r) => `${r.serial}: complete`));
    const grade = detailA.lotResult as LotGrade;
    expect(grade.perCell.map((c) => c.serial).sort()).toEqual(detailA.runs.map((r) => r.serial).sort());
    for (const run of detailA.runs) {
      expect(run.equipmentTimeS, run.serial).toBeGreaterThan(24 * HOUR_S);
      const logged = simA.records(run.channel, BigInt(run.startSeq!), 1_000_000);
      const account = accountTrace(path.join(station.dataDir, "traces", lotA.id, `${run.id}.csv`), logged);
      expect({ duplicates: account.duplicates, gaps: account.gaps, foreign: account.foreign, missing: account.missing }, run.serial).toEqual({ duplicates: [], gaps: [], foreign: [], missing: [] });
      // the corrupted hour left no impossible value in any trace (they hold the instrument's own records)
      expect(account.records.filter((r) => !(r.voltageV > 2.4 && r.voltageV < 4.3 && Math.abs(r.currentA) < 6.1)).length, run.serial).toBe(0);
      // and the grade of the channel that served corrupted values was computed on those records: five C/2 cycles
      const imprint = detailA.results[run.serial] as { capacityAh?: { value: number } };
      expect(imprint.capacityAh!.value, run.serial).toBeGreaterThan(4.5);
      expect(imprint.capacityAh!.value, run.serial).toBeLessThan(5.3);
    }

    // Lot B: interrupted by the reboot, with the reason naming what was lost; no record produced is unaccounted for.
    expect(detailB.lot.state).toBe("aborted");
    let lostB = 0;
    for (const run of detailB.runs) {
      expect(run.state).toBe("aborted");
      const produced = producedB.get(run.channel)!;
      const account = accountTrace(path.join(station.dataDir, "traces", lotB.id, `${run.id}.csv`), produced);
      expect({ duplicates: account.duplicates, gaps: account.gaps, foreign: account.foreign }, run.serial).toEqual({ duplicates: [], gaps: [], foreign: [] });
      const lastKept = account.records.at(-1)!.seq;
      expect(run.reason, run.serial).toMatch(/rebooted|lost its record buffer/);
      expect(run.reason, run.serial).toMatch(new RegExp(`(after seq|up to) ${lastKept}\\b`));
      // every record not in the trace lies after the seq the reason names as the last kept one
      expect(account.missing.filter((s) => s <= lastKept), run.serial).toEqual([]);
      expect(account.records.length + account.missing.length).toBe(produced.length);
      lostB += account.missing.length;
    }
    console.log(`SOAK: lot A ${detailA.runs.map((r) => `${(r.equipmentTimeS / HOUR_S).toFixed(1)} h`).join(", ")} of simulated equipment time; lot B lost ${lostB} records with the reboot, each named by its run's reason`);

    // Alarms: link and chamber alarms were raised and returned; the reboot raised one per interrupted channel;
    // no record-gap alarm anywhere (nothing went missing from a buffer that still had it).
    const transitions = (source: string, condition: string) => alarmLog.filter((a) => a.source === source && a.condition === condition).map((a) => a.state);
    expect(transitions("cycler-1", "link-lost")).toEqual(Array(3).fill(["active-unack", "returned-unack"]).flat()); // drop, timeouts, drop
    expect(transitions("chamber-1", "chamber-failure")).toEqual(["active-unack", "returned-unack"]);
    expect(["cycler-2/1", "cycler-2/2"].map((s) => transitions(s, "cycler-reboot"))).toEqual([["active-unack"], ["active-unack"]]);
    expect(alarmLog.filter((a) => a.condition === "record-gap")).toEqual([]);
    expect(transitions("cycler-1/2", "invalid-reading")).toEqual(["active-unack", "returned-unack"]);
    // at the end nothing of lot A's equipment is still in alarm: each is returned, waiting only for an acknowledgement
    const openA = station.service.alarms.active().filter((a) => a.source.startsWith("cycler-1") || a.source === "chamber-1");
    expect(openA.map((a) => `${a.source} ${a.condition}: ${a.state}`).sort()).toEqual(["chamber-1 chamber-failure: returned-unack", "cycler-1 link-lost: returned-unack", "cycler-1/2 invalid-reading: returned-unack"]);

    expect(unparsableJsonFiles(station.dataDir)).toEqual([]);
  }, 420_000);
});
