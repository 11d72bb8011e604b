/**
 * GET /api/channels/{cyclerId}/{channel}/history against a real station (embedded simulators, a real lot, a real
 * trace), and the tiles' SOC / ETA / progress estimates from the same run. SIMULATED equipment on a fast clock.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTrace } from "../../server/store/trace-store.ts";
import { startTestStation, waitFor, type TestStation } from "../support/station.ts";

let station: TestStation;
let cookie = "";
let pendingCookie = "";

const call = async (path: string, c = cookie) => {
  const res = await fetch(`${station.url}/api${path}`, { headers: c ? { cookie: c } : {} });
  return { status: res.status, body: await res.json() };
};
const login = async (user: string, pin: string) => {
  const res = await fetch(`${station.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, pin }) });
  expect(res.status).toBe(200);
  return res.headers.get("set-cookie")!.split(";")[0];
};

beforeAll(async () => {
  station = await startTestStation({ channels: 2, overrides: { simSpeed: 1800, tickMs: 50 } });
  await station.auth.createUser({ username: "sam", displayName: "Sam", role: "supervisor", pin: "000000" });
  await station.auth.changePin("sam", "000000", "2468");
  await station.auth.createUser({ username: "newbie", displayName: "New", role: "operator", pin: "135790" });
  cookie = await login("sam", "2468");
  pendingCookie = await login("newbie", "135790"); // must still change the PIN
  await waitFor("cycler connected", () => station.monitors.get("cycler-1")!.info());
  await station.service.startLot({ name: "history", recipe: "quick_check", cyclerId: "cycler-1", cells: [{ slot: 1, serial: "HIST-1" }], nominalCapacityAh: 5, chemistry: "nmc811-graphite", operator: "sam" });
}, 60_000);
afterAll(async () => {
  await station?.close();
});

describe("channel history endpoint", () => {
  it("answers the run's recent trace, oldest first, decimated to the asked budget, matching the trace on disk", async () => {
    const lot = (await station.service.listLots())[0];
    const runId = `${lot.id}-s001`;
    await waitFor("≥ 50 records in the trace", async () => ((await call("/channels/cycler-1/1/history")).body.recordsInWindow >= 50 ? true : undefined), 30_000);
    const all = await call("/channels/cycler-1/1/history?maxPoints=2000");
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ key: "cycler-1/1", runId, serial: "HIST-1" });
    const seqs = all.body.points.map((p: { seq: string }) => BigInt(p.seq));
    expect(seqs.every((s: bigint, i: number) => i === 0 || s > seqs[i - 1])).toBe(true);
    // every answered point is a record of the run's trace on disk, with its values
    const onDisk = new Map(readTrace(path.join(station.dataDir, "traces", lot.id, `${runId}.csv`)).map((r) => [r.seq.toString(), r]));
    for (const p of all.body.points as { seq: string; voltageV: number; currentA: number }[]) {
      expect(onDisk.get(p.seq)).toMatchObject({ voltageV: p.voltageV, currentA: p.currentA });
    }

    const small = await call("/channels/cycler-1/1/history?maxPoints=10");
    expect(small.status).toBe(200);
    expect(small.body.points.length).toBeLessThanOrEqual(10);
    expect(small.body.points.length).toBeGreaterThan(2);
    // first and last record of the window are kept by the decimation
    expect(small.body.points[0].seq).toBe(all.body.points[0].seq);

    const windowed = await call("/channels/cycler-1/1/history?seconds=60");
    const ts = windowed.body.points.map((p: { unixTimeS: number }) => p.unixTimeS);
    expect(ts.at(-1) - ts[0]).toBeLessThanOrEqual(60);
  });

  it("refuses without a session (401) and while a PIN change is pending (403); bad keys are 400, a channel without a run 404", async () => {
    expect((await call("/channels/cycler-1/1/history", "")).status).toBe(401);
    expect((await call("/channels/cycler-1/1/history", pendingCookie)).status).toBe(403);
    const bad = await call("/channels/cycler-1/0/history");
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].path).toBe("params.channel");
    expect((await call("/channels/cycler-1/1/history?maxPoints=1")).status).toBe(400);
    expect((await call("/channels/cycler-1/1/history?bogus=1")).status).toBe(400);
    expect((await call("/channels/cycler-1/2/history")).status).toBe(404);
    expect((await call("/channels/no-such-cycler/1/history")).status).toBe(404);
  });

  it("the running channel's tile carries an ETA and progress from the recipe, and an SOC once the CCCV charge has ended on its taper", async () => {
    const view = await waitFor("an ETA on the tile", () => station.hub.channels().find((c) => c.key === "cycler-1/1" && c.etaS !== undefined), 20_000);
    expect(view.progress).toBeGreaterThanOrEqual(0);
    expect(view.progress).toBeLessThan(1);
    // quick_check is ~12 h of equipment time per channel at nominal rates (its header); the ideal-cell estimate is of that order
    expect(view.etaS!).toBeLessThan(16 * 3600);
    // After the first CCCV charge ends on its C/10 taper the cell is full by definition, then the C/2 discharge draws it down.
    const withSoc = await waitFor("an SOC on the tile", () => station.hub.channels().find((c) => c.key === "cycler-1/1" && c.socPercent !== undefined), 30_000);
    expect(withSoc.socPercent!).toBeGreaterThan(-5);
    expect(withSoc.socPercent!).toBeLessThanOrEqual(101);
  }, 60_000);
});
