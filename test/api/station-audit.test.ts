/** Lot and run state changes in the audit log, including the ones a killed station saved but never audited. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { auditStationChanges } from "../../server/api/station-audit.ts";
import { silentLogger } from "../../server/log/logger.ts";
import { createLiveHub } from "../../server/station/live-hub.ts";
import { openAuditLog, verifyAuditLog } from "../../server/store/audit-log.ts";
import { createFakeStation } from "./fake-station.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "axviam-station-audit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("station changes in the audit log", () => {
  it("records a change saved before a kill but never audited, once, marked recovered", async () => {
    const file = path.join(dir, "audit.log");
    const before = createFakeStation(createLiveHub(), { cyclerId: "cycler-1", channels: 2 });
    expect(await auditStationChanges(before, openAuditLog(file), silentLogger())).toBe(0);
    const lot = await before.startLot({ name: "L", recipe: "factory_init", cyclerId: "cycler-1", cells: [{ slot: 1, serial: "A1" }, { slot: 2, serial: "A2" }], nominalCapacityAh: 5, chemistry: "nmc811-graphite", operator: "olga" });
    const log = openAuditLog(file);
    const audited = () => log.query({ action: "lot.state", target: lot.id, limit: 100 }).map((e) => e.details.state);
    expect(audited()).toEqual(["execute"]);

    // The station saved the finished lot and was killed before auditing it: the restarted station finds it on disk.
    const after = createFakeStation(createLiveHub(), { cyclerId: "cycler-1", channels: 2 });
    after.lotsById.set(lot.id, structuredClone(before.lotsById.get(lot.id)!));
    after.complete(lot.id, {}); // no auditor listens yet: this is the unaudited change
    expect(await auditStationChanges(after, openAuditLog(file), silentLogger())).toBe(3); // the lot and its two runs
    const lotEntries = log.query({ action: "lot.state", target: lot.id, limit: 100 });
    expect(lotEntries.map((e) => e.details.state)).toEqual(["complete", "execute"]); // newest first
    expect(lotEntries[0].details.recovered).toMatch(/not audited before the station stopped/);
    const runEntries = log.query({ action: "run.state", limit: 100 }).filter((e) => e.details.lotId === lot.id);
    expect(runEntries.filter((e) => e.details.state === "complete").map((e) => e.details.serial).sort()).toEqual(["A1", "A2"]);

    // a further restart finds nothing missing; the chain stays whole
    const again = createFakeStation(createLiveHub(), { cyclerId: "cycler-1", channels: 2 });
    again.lotsById.set(lot.id, structuredClone(after.lotsById.get(lot.id)!));
    expect(await auditStationChanges(again, openAuditLog(file), silentLogger())).toBe(0);
    expect(verifyAuditLog(file)).toMatchObject({ ok: true });
  });

  it("does not write a change again after a restart when the log already has it", async () => {
    const file = path.join(dir, "audit-2.log");
    const station = createFakeStation(createLiveHub(), { cyclerId: "cycler-1", channels: 1 });
    await auditStationChanges(station, openAuditLog(file), silentLogger());
    const lot = await station.startLot({ name: "M", recipe: "factory_init", cyclerId: "cycler-1", cells: [{ slot: 1, serial: "B1" }], nominalCapacityAh: 5, chemistry: "nmc811-graphite", operator: "olga" });
    const restarted = createFakeStation(createLiveHub(), { cyclerId: "cycler-1", channels: 1 });
    restarted.lotsById.set(lot.id, structuredClone(station.lotsById.get(lot.id)!));
    const log = openAuditLog(file);
    await auditStationChanges(restarted, log, silentLogger());
    restarted.advance(lot.id, 0, 0.1); // a progress tick: same state and phase, nothing to audit
    expect(log.query({ action: "lot.state", target: lot.id, limit: 100 }).length).toBe(1);
    restarted.advance(lot.id, 1, 0.3);
    expect(log.query({ action: "lot.state", target: lot.id, limit: 100 }).map((e) => e.details.phaseIndex)).toEqual([1, 0]);
  });
});
