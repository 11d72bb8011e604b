/**
 * A dropped connection mid-lot (issue 4): the station raises an alarm, the cycler keeps running and buffering,
 * and after the reconnect every record is backfilled by sequence number — the trace equals the cycler's own log.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTrace } from "../../server/store/trace-store.ts";
import { startTestStation, waitFor, type TestStation } from "../support/station.ts";

describe.each(["opcua", "modbus"] as const)("link drop during a lot over %s", (protocol) => {
  let station: TestStation;
  beforeAll(async () => {
    station = await startTestStation({ channels: 2, protocol, overrides: { simSpeed: 3000, tickMs: 100 } });
    await waitFor("cycler connected", () => station.monitors.get("cycler-1")!.info(), 60_000);
  }, 90_000);
  afterAll(async () => station?.close());

  it("raises a link alarm, then backfills every record after the reconnect", async () => {
    const sim = station.sims!.env.cyclers.get("sim-cycler")!;
    const link = station.sims!.frontEnds.get("sim-cycler")!.faults;
    const lot = await station.service.startLot({
      name: "link-drop", recipe: "quick_check", cyclerId: "cycler-1", nominalCapacityAh: 5, chemistry: "nmc811-graphite", operator: "test",
      cells: [1, 2].map((ch) => ({ slot: ch, serial: sim.cell(ch).serial })),
    });
    await waitFor("records flowing", () => (sim.live()[0].state === "running" && sim.live()[0].lastSeq > 20n ? true : undefined), 60_000);

    link.dropped = true;
    const alarm = await waitFor("link alarm", () => station.service.alarms.active().find((a) => a.source === "cycler-1" && a.condition === "link-lost"), 30_000);
    expect(alarm.severity).toBe("high");
    const seqAtDrop = sim.live()[0].lastSeq;
    await waitFor("the cycler logging on alone", () => (sim.live()[0].lastSeq > seqAtDrop + 30n ? true : undefined), 30_000);
    link.dropped = false;
    await waitFor("link alarm returned to normal", () => (station.service.alarms.active().some((a) => a.source === "cycler-1" && a.condition === "link-lost" && a.state === "active-unack") ? undefined : true), 60_000);

    const detail = await waitFor("lot finished", async () => {
      const d = await station.service.lot(lot.id);
      return d.lot.state !== "execute" ? d : undefined;
    }, 120_000, 250);
    expect(detail.runs.map((r) => `${r.state}${r.reason ? `: ${r.reason}` : ""}`)).toEqual(["complete", "complete"]);
    for (const run of detail.runs) {
      const trace = readTrace(path.join(station.dataDir, "traces", lot.id, `${run.id}.csv`)).map((r) => r.seq);
      const logged = sim.records(run.channel, BigInt(run.startSeq ?? "0"), 1_000_000).map((r) => r.seq);
      expect(trace).toEqual(logged.slice(0, trace.length)); // every record, in order, none twice
      expect(trace.length).toBeGreaterThan(100);
    }
  }, 240_000);
});
