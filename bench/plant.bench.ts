/**
 * Plant throughput and delay: 10 publishing stations → real Mosquitto → plant service → real PostgreSQL
 * (both started from temp folders by test/plant/services.ts; PostgreSQL with fsync off, so the database figures
 * are an upper bound for a disk-backed server). Stations are fake StationServices with real publishers.
 *   npx tsx bench/plant.bench.ts [--quick]
 * 1. saturation: every station finishes lots of 64 cells back to back; grades/s from the first lot's completion
 *    until the last row is queryable, and until every station holds the plant's receipt for every grade (its outbox
 *    is empty: end to end, station → broker → PostgreSQL commit → receipt back to the station).
 * 2. paced: each station finishes a lot of 8 cells every 400 ms (200 grades/s plant-wide); delay from the grade's
 *    completion (graded_at) to its committed row (received_at, the inserting transaction's start), p50 / p99.
 * Re-sends (no receipt within the stations' receipt timeout: the production default of 30 s here) show as plant
 * writes beyond one per grade.
 */
import { percentile, emit, type Figure } from "./support/report.ts";
import { count, gradeLot, startTestPlant, startTestStation, waitUntil, type TestStation } from "../test/plant/plant-fixture.ts";
import { startBroker, startDatabase } from "../test/plant/services.ts";

const quick = process.argv.includes("--quick");
const STATIONS = 10;
const BURST_LOTS = quick ? 3 : 10;
const BURST_CELLS = 64;
const PACED_S = quick ? 4 : 10;
const PACED_CELLS = 8;
const PACED_PERIOD_MS = 400;

const [broker, db] = await Promise.all([startBroker(), startDatabase()]);
const figures: Figure[] = [];
try {
  const plant = await startTestPlant(db.url, broker.url);
  const stations: TestStation[] = [];
  for (let i = 1; i <= STATIONS; i++) stations.push(await startTestStation({ id: `bench-${i}`, lineId: `line-${1 + (i % 2)}`, brokerUrl: broker.url, channels: BURST_CELLS, publishLiveEveryMs: Number(process.env.LIVE_MS ?? 5000), receiptTimeoutMs: 30_000 }));
  await waitUntil("stations connected", () => stations.every((s) => s.publisher.connected()));

  const cellsFor = (s: TestStation, lot: string, n: number) => Array.from({ length: n }, (_, i) => ({ serial: `${s.id}-${lot}-${i}`, capacityAh: 5, bin: "A" as const }));

  // 1. saturation
  const total = STATIONS * BURST_LOTS * BURST_CELLS;
  const t0 = performance.now();
  await Promise.all(stations.map(async (s) => {
    for (let l = 0; l < BURST_LOTS; l++) await gradeLot(s, `burst-${l}`, cellsFor(s, `B${l}`, BURST_CELLS));
  }));
  await waitUntil("burst written", async () => (await count(plant.pool, "SELECT count(*) AS n FROM grades")) >= total, 300_000);
  const burstS = (performance.now() - t0) / 1000;
  await waitUntil("burst confirmed to every station", () => stations.every((s) => s.publisher.outboxSize() === 0), 300_000);
  const confirmedS = (performance.now() - t0) / 1000;
  figures.push({ bench: "plant", metric: `grades through broker into PostgreSQL, ${STATIONS} stations, saturated`, value: total / burstS, unit: "grades/s", note: `${total} grades in ${burstS.toFixed(1)} s; one subscriber, one transaction per grade; PostgreSQL fsync off` });
  const burstDelay = (await plant.pool.query("SELECT extract(epoch FROM received_at - graded_at) * 1000 AS ms FROM grades")).rows.map((r) => Number(r.ms));
  figures.push({ bench: "plant", metric: `grades confirmed end to end (receipt back at the station), ${STATIONS} stations, saturated`, value: total / confirmedS, unit: "grades/s", note: `${total} grades in ${confirmedS.toFixed(1)} s` });
  figures.push({ bench: "plant", metric: "saturated: delay completion → queryable row, p99", value: percentile(burstDelay, 99), unit: "ms", note: "includes queueing behind the whole backlog" });

  // 2. paced
  const before = await count(plant.pool, "SELECT count(*) AS n FROM grades");
  const lots = Math.floor((PACED_S * 1000) / PACED_PERIOD_MS);
  const pacedStart = new Date();
  await Promise.all(stations.map(async (s, k) => {
    await new Promise((r) => setTimeout(r, (k * PACED_PERIOD_MS) / STATIONS));
    for (let l = 0; l < lots; l++) {
      const next = performance.now() + PACED_PERIOD_MS;
      await gradeLot(s, `paced-${l}`, cellsFor(s, `P${l}`, PACED_CELLS));
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
  }));
  const pacedTotal = STATIONS * lots * PACED_CELLS;
  await waitUntil("paced written", async () => (await count(plant.pool, "SELECT count(*) AS n FROM grades")) >= before + pacedTotal, 120_000);
  const delays = (await plant.pool.query("SELECT extract(epoch FROM received_at - graded_at) * 1000 AS ms FROM grades WHERE graded_at >= $1", [pacedStart])).rows.map((r) => Number(r.ms));
  const rate = (1000 / PACED_PERIOD_MS) * PACED_CELLS * STATIONS;
  figures.push({ bench: "plant", metric: `paced ${rate} grades/s from ${STATIONS} stations: delay completion → queryable row, p50`, value: percentile(delays, 50), unit: "ms", note: `${delays.length} grades` });
  figures.push({ bench: "plant", metric: `paced ${rate} grades/s from ${STATIONS} stations: delay completion → queryable row, p99`, value: percentile(delays, 99), unit: "ms", note: "graded_at has ms resolution; same host clock at both ends" });
  figures.push({ bench: "plant", metric: "duplicate grade rows", value: (await count(plant.pool, "SELECT count(*) - count(DISTINCT id) AS n FROM grades")), unit: "rows" });
  const rows = await count(plant.pool, "SELECT count(*) AS n FROM grades");
  figures.push({ bench: "plant", metric: "grade re-sends (plant writes beyond one per grade)", value: (plant.service.health().written.grades ?? 0) - rows, unit: "writes", note: "no receipt within the timeout, or a reconnect" });

  for (const s of stations) await s.dispose();
  await plant.stop();
} finally {
  await Promise.all([broker.dispose(), db.dispose()]);
}
emit(figures);
