/**
 * Plant test fixture: "stations" are the API tests' in-memory FakeStation (real alarm manager, real LiveHub) with
 * a real plant publisher on a temp data folder; the plant is the real plant service on a fresh PostgreSQL
 * database. Results are shaped like the domain's (Measured figures, lot grading perCell bins, route decisions).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { plantSchema } from "../../server/config/station-config.schema.ts";
import { silentLogger } from "../../server/log/logger.ts";
import { plantServiceConfigSchema } from "../../server/plant/plant-config.schema.ts";
import { startPlantService, type PlantServiceHandle } from "../../server/plant/plant-service.ts";
import { attachPlantPublisher, type PlantPublisher } from "../../server/plant/publisher.ts";
import { createLiveHub, type LiveHub } from "../../server/station/live-hub.ts";
import { createFakeStation, type FakeStation } from "../api/fake-station.ts";

export interface TestStation {
  id: string;
  lineId: string;
  fake: FakeStation;
  hub: LiveHub;
  dataDir: string;
  publisher: PlantPublisher;
  /** stop the publisher and attach a new one on the same data folder (a station restart) */
  restart(brokerUrl?: string): Promise<void>;
  dispose(): Promise<void>;
}

export interface TestStationOptions {
  id: string;
  lineId: string;
  brokerUrl: string;
  channels?: number;
  plantId?: string;
  publishLiveEveryMs?: number;
  /** the publisher's first wait for a receipt before re-sending; default 1 s here (30 s in production) */
  receiptTimeoutMs?: number;
  /** broker credentials (inline in the test config: the warning goes to the silent logger) */
  username?: string;
  password?: string;
}

export async function startTestStation(o: TestStationOptions): Promise<TestStation> {
  const hub = createLiveHub();
  const fake = createFakeStation(hub, { cyclerId: "cycler-1", channels: o.channels ?? 8 });
  fake.feed();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `axviam-plant-${o.id}-`));
  const attach = (url: string) =>
    attachPlantPublisher({
      service: fake,
      hub,
      config: plantSchema.parse({
        enabled: true, plantId: o.plantId ?? "plant-1", lineId: o.lineId, publishLiveEveryMs: o.publishLiveEveryMs ?? 200,
        mqtt: { url, reconnectMs: 200, ...(o.username !== undefined ? { username: o.username, password: o.password } : {}) },
      }),
      stationId: o.id,
      stationName: `Station ${o.id}`,
      simulated: true,
      dataDir,
      log: silentLogger(),
      receiptTimeoutMs: o.receiptTimeoutMs ?? 1000,
      receiptMaxWaitMs: 4 * (o.receiptTimeoutMs ?? 1000),
    });
  const s: TestStation = {
    id: o.id,
    lineId: o.lineId,
    fake,
    hub,
    dataDir,
    publisher: await attach(o.brokerUrl),
    async restart(url = o.brokerUrl) {
      await s.publisher.stop();
      s.publisher = await attach(url);
    },
    async dispose() {
      await s.publisher.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return s;
}

export type CellOutcome = { serial: string; capacityAh: number } & ({ bin: "A" | "B" | "C" | "reject" } | { route: string });

/** Start and finish one lot on a fake station; imprint when the outcomes carry bins, second life when routes. */
export async function gradeLot(station: TestStation, name: string, cells: CellOutcome[]): Promise<string> {
  const imprint = "bin" in cells[0];
  const lot = await station.fake.startLot({
    name, recipe: imprint ? "factory_init" : "second_life", cyclerId: "cycler-1", nominalCapacityAh: 5, chemistry: "nmc811-graphite", operator: "test",
    cells: cells.map((c, i) => ({ slot: i + 1, serial: c.serial })),
  });
  const results = Object.fromEntries(
    cells.map((c) => [
      c.serial,
      {
        serial: c.serial,
        capacityAh: { value: c.capacityAh, uncertainty: 0.004 },
        dcirMilliohm: { value: 21.5, uncertainty: 0.3 },
        curve: { chargeAh: [0, 1], voltageV: [4.2, 3.9] },
        ...("route" in c ? { route: { route: c.route, label: `route ${c.route}`, reasons: [{ message: `soh for ${c.route}`, passed: false }] } } : {}),
      },
    ]),
  );
  const lotResult = imprint ? { perCell: cells.map((c) => ({ serial: c.serial, bin: (c as { bin: string }).bin, reasons: [{ message: `bin ${(c as { bin: string }).bin}` }] })) } : undefined;
  station.fake.complete(lot.id, results, lotResult);
  return lot.id;
}

export interface TestPlant {
  service: PlantServiceHandle;
  pool: pg.Pool;
  databaseUrl: string;
  stop(): Promise<void>;
}

let dbSeq = 0;
/** A fresh database on the server at `serverUrl`, and the plant service writing into it. */
export async function startTestPlant(serverUrl: string, brokerUrl: string, o: { clientId?: string; token?: string; username?: string; password?: string } = {}): Promise<TestPlant> {
  const name = `plant_${process.pid}_${++dbSeq}`;
  const admin = new pg.Client(serverUrl);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const databaseUrl = serverUrl.replace(/\/[^/]*$/, `/${name}`);
  const service = await startPlantService(
    plantServiceConfigSchema.parse({
      mqtt: { url: brokerUrl, clientId: o.clientId ?? `axviam-plant-${name}`, reconnectMs: 200, ...(o.username !== undefined ? { username: o.username, password: o.password } : {}) },
      postgres: { url: databaseUrl, retryMs: 100 },
      http: { host: "127.0.0.1", port: 0, ...(o.token !== undefined ? { token: o.token } : {}) },
    }),
    silentLogger(),
  );
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  pool.on("error", () => undefined);
  return {
    service,
    pool,
    databaseUrl,
    async stop() {
      await service.stop();
      await pool.end();
    },
  };
}

export async function waitUntil(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      if (await probe()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
}

export async function count(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  return Number((await pool.query(sql, params)).rows[0].n);
}
