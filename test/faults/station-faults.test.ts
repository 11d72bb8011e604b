/**
 * Equipment faults seen by the whole station (OPC UA cycler and chamber simulators, real drivers and runtime):
 * corrupted live values are flagged on the channel and never reach a trace; a chamber failure must raise an alarm;
 * a cycler reboot that clears its record buffer interrupts the runs, with the reason, and keeps every record held.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALARM_CODES } from "../../server/domain/equipment/channel.ts";
import { startTestStation, waitFor, type TestStation } from "../support/station.ts";

let station: TestStation;
beforeAll(async () => {
  station = await startTestStation({ channels: 4, overrides: { simSpeed: 600, tickMs: 100 } });
  await waitFor("cycler connected", () => station.monitors.get("cycler-1")!.info(), 30_000);
}, 90_000);
afterAll(async () => station?.close());

const view = (channel: number) => station.hub.channels().find((c) => c.channel === channel)!;

describe("corrupted live values", () => {
  it("flag only the corrupted channel with invalidReading and no number, and clear when the values are sane again", async () => {
    const faults = station.sims!.frontEnds.get("sim-cycler")!.faults;
    faults.corruptChannels = [2];
    try {
      await waitFor("channel 2 flagged", () => (view(2)?.alarmCode === ALARM_CODES.invalidReading ? true : undefined), 10_000);
      const alarm = station.service.alarms.active().find((a) => a.source === "cycler-1/2" && a.condition === "invalid-reading");
      expect(alarm?.state).toBe("active-unack");
      expect(station.service.alarms.active().filter((a) => a.condition === "invalid-reading").map((a) => a.source)).toEqual(["cycler-1/2"]);
      expect(Number.isNaN(view(2).voltageV)).toBe(true); // the impossible reading is not passed on as a value
      expect(Number.isNaN(view(2).currentA)).toBe(true); // 1e9 A from the front-end is no current
      for (const ch of [1, 3, 4]) {
        expect(view(ch).alarmCode, `channel ${ch}`).toBe(ALARM_CODES.none);
        expect(view(ch).voltageV).toBeGreaterThan(2.5);
      }
    } finally {
      faults.corruptChannels = [];
    }
    await waitFor("channel 2 sane again", () => (view(2).alarmCode === ALARM_CODES.none && view(2).voltageV > 2.5 ? true : undefined), 10_000);
    // ISA-18.2: the condition cleared, the alarm waits for acknowledgement as returned-unack
    await waitFor("invalid-reading alarm returned", () => (station.service.alarms.active().find((a) => a.source === "cycler-1/2" && a.condition === "invalid-reading")?.state === "returned-unack" ? true : undefined), 10_000);
  });

  it("the records a grade is computed from are the instrument's own, not the corrupted live values", async () => {
    const faults = station.sims!.frontEnds.get("sim-cycler")!.faults;
    const sim = station.sims!.env.cyclers.get("sim-cycler")!;
    const driver = station.monitors.get("cycler-1")!.driver;
    const info = station.monitors.get("cycler-1")!.info()!;
    await driver.load(3, {
      id: "fault-records",
      steps: [{ mode: "cc", currentA: -1, ends: [{ on: "time", op: ">=", value: 600, then: "end" }], log: { everyS: 10 } }],
      safety: info.limits,
    });
    await driver.command(3, "start");
    faults.corruptChannels = [3];
    try {
      const after = sim.live().find((c) => c.channel === 3)!.lastSeq;
      await waitFor("records logged while corrupted", () => (sim.live().find((c) => c.channel === 3)!.lastSeq > after + 5n ? true : undefined), 20_000);
      const read = await driver.readRecords(3, after, 100);
      const truth = sim.records(3, after, 100);
      expect(read.length).toBeGreaterThan(5);
      expect(read.map((r) => [r.seq, r.voltageV, r.currentA])).toEqual(truth.slice(0, read.length).map((r) => [r.seq, r.voltageV, r.currentA]));
      expect(read.every((r) => r.voltageV > 2.5 && r.voltageV < 4.3 && Math.abs(r.currentA + 1) < 0.01)).toBe(true);
    } finally {
      faults.corruptChannels = [];
      await driver.command(3, "stop").catch(() => undefined);
    }
  });
});

/** A failed heater must not leave a lot waiting for "stable" for ever with no alarm and a "connected" link. */
describe("chamber failure", () => {
  it("raises an active alarm naming the chamber within a few poll periods", async () => {
    station.sims!.env.chambers.get("sim-chamber")!.faults.failure("heater");
    try {
      const alarm = await waitFor(
        "a chamber alarm",
        () => station.service.alarms.active().find((a) => a.source === "chamber-1"),
        10_000,
      ).catch(() => undefined);
      expect(alarm, `active alarms: ${JSON.stringify(station.service.alarms.active())}`).toMatchObject({ source: "chamber-1", severity: "high", message: expect.stringMatching(/heater/i) });
    } finally {
      station.sims!.env.chambers.get("sim-chamber")!.faults.failure("none");
    }
  });
});

describe("cycler reboot", () => {
  it("interrupts the running lot's runs with the reason, keeps their records, and raises an alarm — no silent gap", async () => {
    const sim = station.sims!.env.cyclers.get("sim-cycler")!;
    const lot = await station.service.startLot({
      name: "reboot", recipe: "quick_check", cyclerId: "cycler-1", nominalCapacityAh: 5, chemistry: "nmc811-graphite", operator: "test",
      cells: [1, 2].map((ch) => ({ slot: ch, serial: sim.cell(ch).serial })),
    });
    await waitFor("records flowing", () => (sim.live()[0].state === "running" && sim.live()[0].lastSeq > 10n ? true : undefined), 60_000);
    sim.faults.reboot(30);
    const detail = await waitFor("runs interrupted", async () => {
      const d = await station.service.lot(lot.id);
      return d.lot.state !== "execute" && d.runs.every((r) => r.state === "aborted") ? d : undefined;
    }, 60_000, 200);
    for (const run of detail.runs) expect(run.reason).toMatch(/rebooted|lost its record buffer/);
    expect(detail.lot.state).toBe("aborted");
    const alarms = station.service.alarms.active().filter((a) => a.condition === "cycler-reboot");
    expect(alarms.map((a) => a.source).sort()).toEqual(["cycler-1/1", "cycler-1/2"]);
  }, 120_000);
});
