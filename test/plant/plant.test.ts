/**
 * The plant view end to end with real Mosquitto and PostgreSQL (test/plant/services.ts starts them; CI installs
 * the Debian packages `mosquitto` and `postgresql`). Stations are fake StationServices with real publishers.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plantSchema } from "../../server/config/station-config.schema.ts";
import { migrate } from "../../server/plant/migrate.ts";
import { renderPlantJsonSchemas } from "../../server/plant/plant-messages.ts";
import { plantServiceConfigSchema } from "../../server/plant/plant-config.schema.ts";
import { PlantDatabaseError, startPlantService } from "../../server/plant/plant-service.ts";
import { silentLogger } from "../../server/log/logger.ts";
import { count, gradeLot, startTestPlant, startTestStation, waitUntil, type CellOutcome, type TestPlant, type TestStation } from "./plant-fixture.ts";
import { freePort, startBroker, startDatabase, type Broker, type Database } from "./services.ts";

/** The Mosquitto ACL of docs/operations.md ("Broker access control"), for prefix axviam. */
const PLANT_ACL = readFileSync(path.resolve(import.meta.dirname, "../../docs/operations.md"), "utf8").match(/```\n(# mosquitto acl_file[\s\S]*?)```/)![1];

/** Ids of the messages in a station's outbox files (not confirmed ones: the test reads before any receipt). */
function readOutboxIds(dataDir: string): string[] {
  const dir = path.join(dataDir, "plant-outbox");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl"))
    .flatMap((f) => readFileSync(path.join(dir, f), "utf8").trim().split("\n"))
    .map((l) => (JSON.parse(l) as { id: string }).id);
}

let broker: Broker;
let db: Database;
beforeAll(async () => {
  [broker, db] = await Promise.all([startBroker(), startDatabase()]);
});
afterAll(async () => {
  await Promise.all([broker?.dispose(), db?.dispose()]);
});

const cells = (prefix: string, n: number, outcome: (i: number) => Partial<CellOutcome>): CellOutcome[] =>
  Array.from({ length: n }, (_, i) => ({ serial: `${prefix}-${String(i + 1).padStart(3, "0")}`, capacityAh: 5 + i / 1000, ...outcome(i) }) as CellOutcome);

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.json() };
}

describe("plant contract", () => {
  it("docs/plant-schemas are the JSON Schemas rendered from the zod contract", () => {
    for (const [file, text] of Object.entries(renderPlantJsonSchemas())) {
      expect(readFileSync(path.resolve(import.meta.dirname, "../../docs/plant-schemas", file), "utf8"), file).toBe(text);
    }
  });

  it("the plant section is off by default and needs a broker URL when enabled", () => {
    expect(plantSchema.parse({})).toMatchObject({ enabled: false, publishLiveEveryMs: 5000 });
    expect(plantSchema.parse({ enabled: true, mqtt: { url: "mqtt://h:1883" } }).mqtt?.topicPrefix).toBe("axviam");
    const r = plantSchema.safeParse({ enabled: true });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].path).toEqual(["mqtt"]);
    expect(plantSchema.safeParse({ enabled: true, mqtt: { url: "http://h" } }).success).toBe(false);
  });
});

describe("plant service with real Mosquitto and PostgreSQL", () => {
  it("migrations are applied once, in order, and a second run applies nothing", async () => {
    const plant = await startTestPlant(db.url, broker.url);
    try {
      expect(await migrate(plant.pool)).toEqual([]);
      expect((await plant.pool.query("SELECT version FROM schema_migrations ORDER BY version")).rows.map((r) => r.version)).toEqual(["001_plant_schema"]);
      const tables = (await plant.pool.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).rows.map((r) => r.table_name);
      expect(tables).toEqual(["alarms", "cells", "channel_status", "grades", "lots", "schema_migrations", "stations"]);
    } finally {
      await plant.stop();
    }
  });

  it("the outbox survives a station restart during a broker outage and drains when the broker returns", async () => {
    const plant = await startTestPlant(db.url, broker.url);
    const station = await startTestStation({ id: "st-outage", lineId: "line-1", brokerUrl: broker.url });
    try {
      await waitUntil("station connected", () => station.publisher.connected());
      await broker.stop();
      await waitUntil("station sees the outage", () => !station.publisher.connected());
      await gradeLot(station, "during outage", cells("OUT", 6, () => ({ bin: "A" })));
      station.fake.alarmManager.raise({ source: "cycler-1/3", condition: "over-temperature", severity: "high", message: "53 °C on channel 3" });
      await waitUntil("grades and alarm in the outbox", () => station.publisher.outboxSize() === 7);
      expect(station.publisher.lastError()).toContain(broker.url.replace("mqtt://", ""));

      await station.restart();
      expect(station.publisher.outboxSize()).toBe(7);
      await broker.start();
      await waitUntil("outbox drained", () => station.publisher.outboxSize() === 0);
      await waitUntil("rows in PostgreSQL", async () => (await count(plant.pool, "SELECT count(*) AS n FROM grades")) === 6);
      expect(await count(plant.pool, "SELECT count(*) AS n FROM alarms WHERE station_id = 'st-outage' AND condition = 'over-temperature'")).toBe(1);
      // the restarted publisher did not enqueue the finished lot a second time (its mark survived)
      expect(station.publisher.outboxSize()).toBe(0);
    } finally {
      await station.dispose();
      await plant.stop();
    }
  });

  it("three stations into one plant: broker and database restarts mid-stream lose no grade and duplicate none", async () => {
    const plant = await startTestPlant(db.url, broker.url);
    const stations = await Promise.all([
      startTestStation({ id: "st-a", lineId: "line-1", brokerUrl: broker.url }),
      startTestStation({ id: "st-b", lineId: "line-1", brokerUrl: broker.url }),
      startTestStation({ id: "st-c", lineId: "line-2", brokerUrl: broker.url }),
    ]);
    const LOTS = 15;
    const expectedIds: string[] = [];
    try {
      const produce = async (s: TestStation) => {
        for (let lot = 0; lot < LOTS; lot++) {
          const lotId = await gradeLot(s, `lot ${lot}`, cells(`${s.id}-L${lot}`, 8, (i) => ({ bin: i === 7 ? "reject" : "A" })));
          for (let i = 0; i < 8; i++) expectedIds.push(`${s.id}:${lotId}:${s.id}-L${lot}-${String(i + 1).padStart(3, "0")}:${lotId}-run-${i + 1}`);
          await new Promise((r) => setTimeout(r, 80));
        }
      };
      let done = false;
      const producing = Promise.all(stations.map(produce)).finally(() => (done = true));
      await new Promise((r) => setTimeout(r, 100));
      await broker.stop();
      await waitUntil("grades queued during the broker outage", () => stations.some((s) => s.publisher.outboxSize() > 0));
      await broker.start();
      await db.stop();
      // status messages arrive every 200 ms, so the plant meets the outage even between grades
      await waitUntil("the plant meets the database outage", () => !plant.service.health().database.ok);
      await db.start();
      expect(done).toBe(false);
      await producing;

      await waitUntil("every station's outbox drained", () => stations.every((s) => s.publisher.outboxSize() === 0), 30_000);
      await waitUntil("all grades written", async () => (await count(plant.pool, "SELECT count(*) AS n FROM grades")) >= expectedIds.length, 30_000);
      const rows = (await plant.pool.query<{ id: string }>("SELECT id FROM grades ORDER BY id")).rows.map((r) => r.id);
      expect(rows).toEqual([...expectedIds].sort());
      expect(await count(plant.pool, "SELECT count(DISTINCT id) AS n FROM grades")).toBe(3 * LOTS * 8);
      expect(await count(plant.pool, "SELECT count(*) AS n FROM cells")).toBe(3 * LOTS * 8);
      expect(plant.service.health().rejected).toBe(0);
    } finally {
      await Promise.all(stations.map((s) => s.dispose()));
      await plant.stop();
    }
  });

  it("a broker crash (kill -9) that loses its queue, while the plant's database is away, loses no grade and duplicates none", async () => {
    // this broker saves every 1000 s only (services.ts): the crash loses every message it acknowledged meanwhile
    const plant = await startTestPlant(db.url, broker.url);
    const stations = await Promise.all(["k-a", "k-b", "k-c"].map((id, i) => startTestStation({ id, lineId: `line-${i + 1}`, brokerUrl: broker.url })));
    const LOTS = 6;
    const expectedIds: string[] = [];
    const produce = async (s: TestStation, from: number, to: number) => {
      for (let lot = from; lot < to; lot++) {
        const lotId = await gradeLot(s, `lot ${lot}`, cells(`${s.id}-L${lot}`, 8, () => ({ bin: "A" })));
        for (let i = 0; i < 8; i++) expectedIds.push(`${s.id}:${lotId}:${s.id}-L${lot}-${String(i + 1).padStart(3, "0")}:${lotId}-run-${i + 1}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await Promise.all(stations.map((s) => waitUntil("station connected", () => s.publisher.connected())));
      await Promise.all(stations.map((s) => produce(s, 0, 2)));
      await waitUntil("the plant's receipts for the first lots", () => stations.every((s) => s.publisher.outboxSize() === 0));
      // the plant cannot write: what the stations send now waits in the broker's queue for the plant's session
      await db.stop();
      await waitUntil("the plant meets the database outage", () => !plant.service.health().database.ok);
      await Promise.all(stations.map((s) => produce(s, 2, LOTS)));
      await waitUntil("the broker acknowledged every grade", () => stations.every((s) => s.publisher.awaitingReceipt() === 8 * (LOTS - 2)));
      // acknowledged by the broker, not committed by the plant: the stations keep them
      expect(stations.map((s) => s.publisher.outboxSize())).toEqual([32, 32, 32]);
      await broker.kill();
      await broker.start();
      await db.start();
      await waitUntil("every station's outbox confirmed by the plant", () => stations.every((s) => s.publisher.outboxSize() === 0), 30_000);
      const rows = (await plant.pool.query<{ id: string }>("SELECT id FROM grades WHERE station_id LIKE 'k-%' ORDER BY id")).rows.map((r) => r.id);
      expect(rows).toEqual([...expectedIds].sort());
    } finally {
      await Promise.all(stations.map((s) => s.dispose()));
      await plant.stop();
    }
  });

  it("un-receipted grades are re-sent after a station restart and after the receipt timeout; receipts empty the outbox on disk", async () => {
    // its own broker, where no plant session exists yet: what the stations send first is dropped by the broker
    const own = await startBroker();
    const slow = await startTestStation({ id: "re-restart", lineId: "line-1", brokerUrl: own.url, receiptTimeoutMs: 120_000 });
    const fast = await startTestStation({ id: "re-timeout", lineId: "line-1", brokerUrl: own.url, receiptTimeoutMs: 300 });
    let plant: TestPlant | undefined;
    try {
      await Promise.all([slow, fast].map((s) => waitUntil("station connected", () => s.publisher.connected())));
      await gradeLot(slow, "before the plant", cells("RS", 5, () => ({ bin: "A" })));
      await gradeLot(fast, "before the plant", cells("TO", 4, () => ({ bin: "B" })));
      await waitUntil("the broker acknowledged (and dropped) them", () => slow.publisher.awaitingReceipt() === 5 && fast.publisher.awaitingReceipt() === 4);

      plant = await startTestPlant(db.url, own.url);
      await waitUntil("the plant is subscribed", () => plant!.service.health().subscribed);
      const grades = (station: string) => count(plant!.pool, "SELECT count(*) AS n FROM grades WHERE station_id = $1", [station]);
      // the short timeout re-sends without any reconnect
      await waitUntil("the timed-out grades re-sent and confirmed", async () => fast.publisher.outboxSize() === 0 && (await grades("re-timeout")) === 4);
      // the long timeout has not fired: nothing of the other station arrived
      expect(await grades("re-restart")).toBe(0);
      expect(slow.publisher.outboxSize()).toBe(5);

      await slow.restart();
      expect(slow.publisher.outboxSize()).toBe(5);
      await waitUntil("the restarted station re-sent and the plant confirmed", async () => slow.publisher.outboxSize() === 0 && (await grades("re-restart")) === 5);
      // the confirmations are on disk: a further restart sends nothing again
      await slow.restart();
      expect(slow.publisher.outboxSize()).toBe(0);
      const outboxDir = path.join(slow.dataDir, "plant-outbox");
      expect(readdirSync(outboxDir).filter((f) => f.endsWith(".jsonl"))).toEqual([]);
      expect(plant.service.health().rejected).toBe(0);
    } finally {
      await Promise.all([slow.dispose(), fast.dispose()]);
      await plant?.stop();
      await own.dispose();
    }
  });

  it("the plant sends a receipt only after the commit, per station topic; a duplicate grade lands once (primary key, ON CONFLICT)", async () => {
    const plant = await startTestPlant(db.url, broker.url);
    const raw = await mqtt.connectAsync(broker.url, { clientId: `raw-${process.pid}`, clean: true });
    let dbDown = false;
    try {
      const receipts: { topic: string; ids: string[]; rowsAtArrival: number }[] = [];
      raw.on("message", (topic, payload) => {
        const ids = (JSON.parse(payload.toString()) as { ids: string[] }).ids;
        void count(plant.pool, "SELECT count(*) AS n FROM grades WHERE id = ANY($1)", [ids]).then((n) => receipts.push({ topic, ids, rowsAtArrival: n }));
      });
      await raw.subscribeAsync("axviam/+/+/+/receipts", { qos: 1 });
      await waitUntil("the plant is subscribed", () => plant.service.health().subscribed);
      const grade = (stationId: string, serial: string) => ({
        schema: "axviam.grade/1", id: `${stationId}:LOT-1:${serial}:run-1`, plantId: "plant-1", lineId: "line-9", stationId, lotId: "LOT-1", lotName: "raw",
        runId: "run-1", serial, kind: "imprint", chemistry: "nmc811-graphite", nominalCapacityAh: 5, recipe: { name: "factory_init", version: "1" },
        simulated: true, bin: "A", passed: true, reasons: [], figures: { capacityAh: { value: 5.01 } }, gradedAt: new Date().toISOString(),
      });
      const a = grade("raw-a", "RAW-1");
      await db.stop();
      dbDown = true;
      await raw.publishAsync("axviam/plant-1/line-9/raw-a/grades", JSON.stringify(a), { qos: 1 });
      await waitUntil("the plant's write of the grade fails", () => !plant.service.health().database.ok);
      await new Promise((r) => setTimeout(r, 300));
      expect(receipts).toEqual([]);
      await db.start();
      dbDown = false;
      await waitUntil("a receipt", () => receipts.length === 1);
      expect(receipts[0]).toEqual({ topic: "axviam/plant-1/line-9/raw-a/receipts", ids: [a.id], rowsAtArrival: 1 });

      // the same grade again (a re-send), and one of another station: one receipt each, on each station's own topic
      await raw.publishAsync("axviam/plant-1/line-9/raw-a/grades", JSON.stringify(a), { qos: 1 });
      await raw.publishAsync("axviam/plant-1/line-9/raw-b/grades", JSON.stringify(grade("raw-b", "RAW-2")), { qos: 1 });
      await waitUntil("two more receipts", () => receipts.length === 3);
      expect(receipts.map((r) => [r.topic.split("/")[3], r.ids.map((id) => id.split(":")[0])]).sort()).toEqual([["raw-a", ["raw-a"]], ["raw-a", ["raw-a"]], ["raw-b", ["raw-b"]]]);
      expect(await count(plant.pool, "SELECT count(*) AS n FROM grades WHERE station_id = 'raw-a'")).toBe(1);
      // idempotence rests on the schema, not on luck: grades.id and alarms (alarm_id, change_id) are primary keys
      const keys = await plant.pool.query<{ table_name: string; column_name: string }>(
        `SELECT k.table_name, k.column_name FROM information_schema.table_constraints c JOIN information_schema.key_column_usage k USING (constraint_name, table_name)
         WHERE c.constraint_type = 'PRIMARY KEY' AND k.table_name IN ('grades', 'alarms') ORDER BY k.table_name, k.ordinal_position`,
      );
      expect(keys.rows.map((r) => `${r.table_name}.${r.column_name}`)).toEqual(["alarms.alarm_id", "alarms.change_id", "grades.id"]);
    } finally {
      if (dbDown) await db.start();
      await raw.endAsync();
      await plant.stop();
    }
  });

  it("with the documented broker ACL another station cannot forge a receipt; the plant's receipts still get through", async () => {
    const aclBroker = await startBroker({ users: { "axviam-plant": "plant-pw", "acl-a": "a-pw", "acl-b": "b-pw" }, acl: PLANT_ACL });
    const station = await startTestStation({ id: "acl-a", lineId: "line-1", brokerUrl: aclBroker.url, username: "acl-a", password: "a-pw", receiptTimeoutMs: 120_000 });
    const forger = await mqtt.connectAsync(aclBroker.url, { clientId: "forger", username: "acl-b", password: "b-pw" });
    // the station's own user, on a second connection: sees exactly what the station would receive
    const listener = await mqtt.connectAsync(aclBroker.url, { clientId: "acl-a-listener", username: "acl-a", password: "a-pw" });
    const plantUser = await mqtt.connectAsync(aclBroker.url, { clientId: "plant-user", username: "axviam-plant", password: "plant-pw" });
    let plant: TestPlant | undefined;
    try {
      await waitUntil("station connected", () => station.publisher.connected());
      await gradeLot(station, "acl", cells("ACL", 3, () => ({ bin: "A" })));
      await waitUntil("acknowledged by the broker", () => station.publisher.awaitingReceipt() === 3);
      const ids = readOutboxIds(station.dataDir).sort();
      expect(ids).toHaveLength(3);

      const seen: string[] = [];
      listener.on("message", (_topic, payload) => seen.push((JSON.parse(payload.toString()) as { id: string }).id));
      await listener.subscribeAsync("axviam/plant-1/line-1/acl-a/receipts", { qos: 1 });
      const receipt = (id: string, receiptIds: string[]) =>
        JSON.stringify({ schema: "axviam.receipt/1", id, plantId: "plant-1", lineId: "line-1", stationId: "acl-a", at: new Date().toISOString(), ids: receiptIds });
      // the broker has routed the forged receipt (or dropped it) when its PUBACK returns; the plant's comes after it
      await forger.publishAsync("axviam/plant-1/line-1/acl-a/receipts", receipt("forged", ids), { qos: 1 });
      await plantUser.publishAsync("axviam/plant-1/line-1/acl-a/receipts", receipt("control", ["an-id-the-station-never-had"]), { qos: 1 });
      await waitUntil("the plant user's receipt", () => seen.includes("control"));
      expect(seen).toEqual(["control"]);
      // the station got the control receipt too: an unknown id changes nothing
      await new Promise((r) => setTimeout(r, 100));
      expect(station.publisher.outboxSize()).toBe(3);

      // the plant (its user may write receipts) confirms after a restart re-sent what the broker had dropped
      plant = await startTestPlant(db.url, aclBroker.url, { username: "axviam-plant", password: "plant-pw" });
      await waitUntil("the plant is subscribed", () => plant!.service.health().subscribed);
      await station.restart();
      await waitUntil("the plant's receipts accepted", () => station.publisher.outboxSize() === 0);
      expect((await plant.pool.query<{ id: string }>("SELECT id FROM grades WHERE station_id = 'acl-a' ORDER BY id")).rows.map((r) => r.id)).toEqual(ids);
    } finally {
      await Promise.all([forger.endAsync(), listener.endAsync(), plantUser.endAsync(), station.dispose()]);
      await plant?.stop();
      await aclBroker.dispose();
    }
  });

  describe("REST API and cross-station history", () => {
    let plant: TestPlant;
    let stations: TestStation[];
    // its own broker: the other tests' stations left retained status messages on the shared one
    let ownBroker: Broker;
    beforeAll(async () => {
      ownBroker = await startBroker();
      plant = await startTestPlant(db.url, ownBroker.url);
      stations = await Promise.all([
        startTestStation({ id: "imprint-1", lineId: "line-1", brokerUrl: ownBroker.url }),
        startTestStation({ id: "imprint-2", lineId: "line-1", brokerUrl: ownBroker.url }),
        startTestStation({ id: "second-life-1", lineId: "line-2", brokerUrl: ownBroker.url }),
      ]);
      const bins = ["A", "A", "A", "A", "A", "A", "B", "B", "C", "reject"] as const;
      await gradeLot(stations[0], "new cells 1", cells("NEW", 6, (i) => ({ bin: bins[i] })));
      await gradeLot(stations[1], "new cells 2", cells("NEW2", 4, (i) => ({ bin: bins[6 + i] })));
      // years later: NEW-001 comes back from a pack and is graded for a second life on another line
      await gradeLot(stations[2], "returns", [
        { serial: "NEW-001", capacityAh: 4.1, route: "stationary-storage-a" },
        { serial: "RET-002", capacityAh: 3.9, route: "stationary-storage-a" },
        { serial: "RET-003", capacityAh: 3.2, route: "recycle" },
        { serial: "RET-004", capacityAh: 3.6, route: "retest" },
      ]);
      stations[2].fake.feed();
      await waitUntil("14 grades written", async () => (await count(plant.pool, "SELECT count(*) AS n FROM grades")) === 14);
      await waitUntil("three stations' status", async () => (await count(plant.pool, "SELECT count(*) AS n FROM stations")) === 3);
      // without an outage every grade travels exactly once
      expect(plant.service.health().written.grades).toBe(14);
    });
    afterAll(async () => {
      await Promise.all(stations.map((s) => s.dispose()));
      await plant.stop();
      await ownBroker.dispose();
    });

    it("/api/plant/yield counts graded, passed and outcomes per line and kind", async () => {
      const { status, body } = await getJson(`${plant.service.url}/api/plant/yield`);
      expect(status).toBe(200);
      expect(body).toEqual([
        { plantId: "plant-1", lineId: "line-1", kind: "imprint", graded: 10, passed: 9, yield: 0.9, outcomes: { A: 6, B: 2, C: 1, reject: 1 } },
        { plantId: "plant-1", lineId: "line-2", kind: "second-life", graded: 4, passed: 2, yield: 0.5, outcomes: { "stationary-storage-a": 2, recycle: 1, retest: 1 } },
      ]);
      const line2 = await getJson(`${plant.service.url}/api/plant/yield?line=line-2`);
      expect((line2.body as { lineId: string }[]).map((r) => r.lineId)).toEqual(["line-2"]);
      expect((await getJson(`${plant.service.url}/api/plant/yield?since=yesterday`)).status).toBe(400);
    });

    it("/api/plant/throughput gives cells per station in the window", async () => {
      const until = new Date(Date.now() + 60_000).toISOString();
      const { body } = await getJson(`${plant.service.url}/api/plant/throughput?hours=2&until=${until}`);
      const rows = body as { stationId: string; cells: number; cellsPerHour: number; hourly: { cells: number }[] }[];
      expect(rows.map((r) => [r.stationId, r.cells, r.cellsPerHour])).toEqual([
        ["imprint-1", 6, 3],
        ["imprint-2", 4, 2],
        ["second-life-1", 4, 2],
      ]);
      expect(rows.map((r) => r.hourly.reduce((s, h) => s + h.cells, 0))).toEqual([6, 4, 4]);
      // a window that ends before any grade holds none
      const empty = await getJson(`${plant.service.url}/api/plant/throughput?hours=1&until=2001-01-01T00:00:00Z`);
      expect(empty.body).toEqual([]);
      expect((await getJson(`${plant.service.url}/api/plant/throughput?hours=0`)).status).toBe(400);
    });

    it("/api/plant/stations lists every station with its live status", async () => {
      const { body } = await getJson(`${plant.service.url}/api/plant/stations`);
      const rows = body as { stationId: string; lineId: string; online: boolean; simulated: boolean; channelsByState: Record<string, number>; gradesLast24h: number }[];
      expect(rows.map((r) => [r.stationId, r.lineId, r.online, r.simulated, r.gradesLast24h])).toEqual([
        ["imprint-1", "line-1", true, true, 6],
        ["imprint-2", "line-1", true, true, 4],
        ["second-life-1", "line-2", true, true, 4],
      ]);
      // every lot finished: the fake station's 8 channels are idle
      expect(rows[2].channelsByState).toEqual({ idle: 8 });
      await waitUntil("channel rows", async () => (await count(plant.pool, "SELECT count(*) AS n FROM channel_status WHERE station_id = 'second-life-1'")) === 8);
    });

    it("/api/plant/cells/:serial joins a cell's history across stations by serial", async () => {
      const { status, body } = await getJson(`${plant.service.url}/api/plant/cells/NEW-001`);
      expect(status).toBe(200);
      const cell = body as { serial: string; grades: { stationId: string; kind: string; bin: string | null; route: { id: string } | null; passed: boolean; figures: Record<string, { value: number; uncertainty?: number }> }[] };
      expect(cell.serial).toBe("NEW-001");
      expect(cell.grades.map((g) => [g.stationId, g.kind, g.bin, g.route?.id ?? null, g.passed])).toEqual([
        ["imprint-1", "imprint", "A", null, true],
        ["second-life-1", "second-life", null, "stationary-storage-a", true],
      ]);
      expect(cell.grades[0].figures.capacityAh).toEqual({ value: 5, uncertainty: 0.004 });
      expect(cell.grades[1].figures.capacityAh).toEqual({ value: 4.1, uncertainty: 0.004 });
      // curves stay on the station
      expect(Object.keys(cell.grades[0].figures).some((k) => k.startsWith("curve"))).toBe(false);
      expect((await getJson(`${plant.service.url}/api/plant/cells/NOPE-1`)).status).toBe(404);
    });

    it("a station stopping says so (retained status online: false)", async () => {
      await stations[1].publisher.stop();
      await waitUntil("imprint-2 offline", async () => (await plant.pool.query("SELECT online FROM stations WHERE station_id = 'imprint-2'")).rows[0].online === false);
    });
  });

  it("unreachable broker and database give clear errors; the station keeps queueing", async () => {
    const deadPort = await freePort();
    const station = await startTestStation({ id: "st-alone", lineId: "line-1", brokerUrl: `mqtt://127.0.0.1:${deadPort}` });
    try {
      await waitUntil("publisher reports the broker", () => /ECONNREFUSED/.test(station.publisher.lastError() ?? ""));
      expect(station.publisher.lastError()).toContain(`127.0.0.1:${deadPort}`);
      await gradeLot(station, "alone", cells("ALONE", 3, () => ({ bin: "B" })));
      await waitUntil("queued", () => station.publisher.outboxSize() === 3);
      expect(station.publisher.connected()).toBe(false);
    } finally {
      await station.dispose();
    }

    const cfg = (dbUrl: string, brokerUrl: string) =>
      plantServiceConfigSchema.parse({ mqtt: { url: brokerUrl, reconnectMs: 200, clientId: `dead-${deadPort}` }, postgres: { url: dbUrl }, http: { host: "127.0.0.1", port: 0 } });
    const err = await startPlantService(cfg(`postgres://axviam:secret@127.0.0.1:${deadPort}/plant`, broker.url), silentLogger()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(PlantDatabaseError);
    expect((err as Error).message).toMatch(new RegExp(`127\\.0\\.0\\.1:${deadPort}.*ECONNREFUSED`, "s"));
    expect((err as Error).message).not.toContain("secret");

    const plant = await startPlantService(cfg(db.url, `mqtt://127.0.0.1:${deadPort}`), silentLogger());
    try {
      await waitUntil("plant reports the broker", () => /ECONNREFUSED/.test(plant.health().broker.error ?? ""));
      const h = await getJson(`${plant.url}/api/plant/health`);
      expect(h.status).toBe(200);
      expect(h.body).toMatchObject({ broker: { connected: false }, database: { ok: true } });
    } finally {
      await plant.stop();
    }
  });
});
