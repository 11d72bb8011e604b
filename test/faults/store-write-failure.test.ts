/**
 * The data folder stops taking writes (disk full, then an I/O error) under a running station: the failure is played
 * at the store's file-write boundary (StoreFs), so every JSON document of the data folder — lot files, the serial
 * index, the alarm list — meets it. The station must keep its JSON files whole, raise a high `store-write` alarm,
 * refuse new lots with a clear 503 and start no new phase of a running lot, and carry on by itself once the disk
 * takes writes again.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StationRequestError, type StartLotRequest } from "../../server/station/station-service.ts";
import { failingFs } from "../store/failing-fs.ts";
import { startTestStation, waitFor, type TestStation } from "../support/station.ts";

const fs = failingFs();
let station: TestStation;
beforeAll(async () => {
  station = await startTestStation({ channels: 6, overrides: { simSpeed: 3000, tickMs: 100, storeFs: fs } });
  await waitFor("cycler connected", () => station.monitors.get("cycler-1")!.info(), 30_000);
}, 90_000);
afterAll(async () => {
  fs.fail(undefined);
  await station?.close();
});

const sim = () => station.sims!.env.cyclers.get("sim-cycler")!;
const lotRequest = (name: string, channels: number[]): StartLotRequest => ({
  name, recipe: "quick_check", cyclerId: "cycler-1", nominalCapacityAh: 5, chemistry: "nmc811-graphite", operator: "test",
  cells: channels.map((ch) => ({ slot: ch, serial: sim().cell(ch).serial })),
});
const lotFile = (lotId: string) => path.join(station.dataDir, "lots", `${lotId}.json`);
const storeAlarm = () => station.service.alarms.active().find((a) => a.source === "station" && a.condition === "store-write" && a.state.startsWith("active"));
/** every JSON document of the data folder, parsed (throws on a torn or half-written one); no temp file left behind */
function jsonFilesOnDisk(dir = station.dataDir): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return jsonFilesOnDisk(p);
    expect(f, `${p} is a temp file left behind`).not.toMatch(/\.tmp$/);
    if (f.endsWith(".json")) JSON.parse(readFileSync(p, "utf8"));
    return f.endsWith(".json") ? [p] : [];
  });
}

describe("data folder write failure", () => {
  it("alarms, refuses new lots and phases, keeps every file whole, and recovers once writes succeed", async () => {
    const lotA = await station.service.startLot(lotRequest("A", [1, 2]));
    await waitFor("lot A running", () => (sim().live()[0].state === "running" && sim().live()[1].state === "running" ? true : undefined), 60_000);
    const programA0 = sim().live()[0].programId;

    fs.fail("ENOSPC");
    const onDiskA = readFileSync(lotFile(lotA.id), "utf8");

    // a new lot is refused with the cause named, and leaves no file
    const refused = await station.service.startLot(lotRequest("B", [3, 4])).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(StationRequestError);
    expect((refused as StationRequestError).status).toBe(503);
    expect((refused as StationRequestError).message).toMatch(/does not take writes.*lots\/.*\.json: not written \(ENOSPC/);
    expect(readdirSync(path.join(station.dataDir, "lots"))).toEqual([`${lotA.id}.json`]);
    expect(storeAlarm()).toMatchObject({ severity: "high", message: expect.stringMatching(/ENOSPC/) });

    // lot A's first phase ends during the outage: the lot moves on in memory, but its next phase does not start
    // (the start waits for the lot file that records it) and the file on disk stays what it was
    fs.fail("EIO");
    await waitFor("lot A past its first phase", async () => ((await station.service.lot(lotA.id)).lot.phaseIndex >= 1 ? true : undefined), 60_000, 100);
    await new Promise((r) => setTimeout(r, 1500)); // > 10 ticks and a store retry
    for (const ch of [0, 1]) expect(sim().live()[ch].state === "running" && sim().live()[ch].programId !== programA0, `channel ${ch + 1}: ${sim().live()[ch].state} ${sim().live()[ch].programId}`).toBe(false);
    expect(readFileSync(lotFile(lotA.id), "utf8")).toBe(onDiskA);
    const stillRefused = await station.service.startLot(lotRequest("B", [3, 4])).then(() => undefined, (e: unknown) => e);
    expect((stillRefused as StationRequestError).message).toMatch(/EIO/);
    expect(jsonFilesOnDisk().length).toBeGreaterThan(0);

    // the disk takes writes again: the alarm returns to normal, lot A's state reaches the disk and its phase starts
    fs.fail(undefined);
    await waitFor("store-write alarm cleared", () => (storeAlarm() === undefined ? true : undefined), 10_000);
    await waitFor("lot A's second phase running", () => (sim().live()[0].state === "running" && sim().live()[0].programId !== programA0 ? true : undefined), 30_000);
    const persisted = JSON.parse(readFileSync(lotFile(lotA.id), "utf8")) as { lot: { phaseIndex: number; state: string } };
    expect(persisted.lot).toMatchObject({ state: "execute" });
    expect(persisted.lot.phaseIndex).toBeGreaterThanOrEqual(1);
    // the alarm list written during the outage reached the disk too, with the alarm in it
    const alarmsOnDisk = JSON.parse(readFileSync(path.join(station.dataDir, "alarms.json"), "utf8")) as { alarms: { condition: string; state: string }[] };
    expect(alarmsOnDisk.alarms.find((a) => a.condition === "store-write")?.state).toMatch(/returned|normal/);

    const lotB = await station.service.startLot(lotRequest("B", [3, 4]));
    expect(JSON.parse(readFileSync(lotFile(lotB.id), "utf8")).lot.name).toBe("B");
    jsonFilesOnDisk();
  }, 180_000);

  it("a lot whose last phase ends while the disk fails finishes only once its results and index are on disk", async () => {
    const lot = await station.service.startLot(lotRequest("C", [5, 6]));
    const phases = (await station.service.lot(lot.id)).phases.length;
    await waitFor("lot C in its last phase", async () => ((await station.service.lot(lot.id)).lot.phaseIndex === phases - 1 ? true : undefined), 120_000, 100);
    fs.fail("EIO");
    // the channels finish the last phase; the station cannot write the results, so nothing is marked complete
    await waitFor("lot C's last programs finished on the cycler", () => (sim().live()[4].state === "finished" && sim().live()[5].state === "finished" ? true : undefined), 60_000);
    await new Promise((r) => setTimeout(r, 2000)); // many ticks and store retries
    const during = await station.service.lot(lot.id);
    expect(during.lot.state).toBe("execute");
    expect(during.runs.map((r) => r.state)).toEqual(["execute", "execute"]);
    await expect(station.service.cell(sim().cell(5).serial)).rejects.toThrow(/no results/);

    fs.fail(undefined);
    await waitFor("lot C complete", async () => ((await station.service.lot(lot.id)).lot.state === "complete" ? true : undefined), 30_000, 100);
    const after = await station.service.lot(lot.id);
    expect(after.runs.map((r) => r.state)).toEqual(["complete", "complete"]);
    for (const ch of [5, 6]) {
      const serial = sim().cell(ch).serial;
      expect(Object.keys(after.results ?? {})).toContain(serial);
      expect((await station.service.cell(serial)).history.map((h) => h.lotId)).toContain(lot.id);
    }
    const onDisk = JSON.parse(readFileSync(lotFile(lot.id), "utf8")) as { lot: { state: string } };
    expect(onDisk.lot.state).toBe("complete");
    jsonFilesOnDisk();
  }, 240_000);
});
