/**
 * Store write latency with 100,000 cells on file (`npx tsx bench/store.bench.ts [--quick]`). The station store
 * (server/store/station-store.ts) is partitioned: the serial index in 256 shards plus an append-only journal, one
 * file per lot. Measured: indexSerial (one journal line appended and fdatasync'ed; the journal is compacted into the
 * shards in the background several times during the run) and saveLot (one lot file replaced: temp + fsync + rename,
 * no folder fsync: server/store/durable-file.ts) with 100,000 cells spread over lots of LOT_SIZE cells, against the
 * baseline of one naive lowdb file holding all 100,000 cells (the whole file rewritten on every write, no fsync).
 * Latency per awaited write, p50/p99, on the temp folder's file system; writes are issued one per event-loop turn,
 * as the station's ticks issue them, so background compaction runs between them — how long each compaction slice
 * holds the event loop is reported too.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LotFile, Run } from "../server/station/run.types.ts";
import { openJsonFile } from "../server/store/json-file.ts";
import { createStationStore, type SerialEntry } from "../server/store/station-store.ts";
import { emit, isQuick, percentile, type Figure } from "./support/report.ts";

const CELLS = 100_000;
const LOT_SIZE = 512; // one lot fills a 512-channel cycler
const quick = isQuick();
const SAMPLES = quick ? 200 : 1000;
const NAIVE_SAMPLES = quick ? 10 : 30;
const TARGET = { op: "<=", value: 10 } as const;
/** compactions during the indexSerial sample: the journal's threshold is set so that about 4 happen */
const COMPACT_LINES = SAMPLES / 4;

const serial = (i: number) => `CELL-${String(i).padStart(6, "0")}`;
const lotId = (l: number) => `LOT-${String(l).padStart(4, "0")}`;
const createdAt = "2026-12-01T08:00:00.000Z";

function lotFile(l: number, cells: number): LotFile {
  const runs: Run[] = Array.from({ length: cells }, (_, i) => ({
    id: `${lotId(l)}-R${i + 1}`, lotId: lotId(l), serial: serial(l * LOT_SIZE + i), slot: i + 1, cyclerId: "cycler-1", channel: i + 1,
    state: "complete", phaseIndex: 6, programId: "factory_init@1.0.0/dcir", bootId: 1, restVoltageV: 3.6521, startedAt: createdAt,
    finishedAt: "2026-12-03T08:00:00.000Z", equipmentTimeS: 212_345,
  }));
  return {
    lot: {
      id: lotId(l), name: `Lot ${l}`, kind: "imprint", recipe: { name: "factory_init", version: "1.0.0" }, operator: "op", state: "complete", phaseIndex: 6,
      phaseState: "running", chemistry: "nmc811-graphite", nominalCapacityAh: 5, simulated: true, createdAt,
    },
    runs,
  };
}

async function timeWrites(samples: number, write: (i: number) => Promise<void>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await write(i);
    ms.push(performance.now() - t);
    await new Promise((r) => setImmediate(r)); // the next write comes from a later tick
  }
  return ms;
}

const dir = mkdtempSync(path.join(os.tmpdir(), "axviam-bench-store-"));
try {
  const compactSliceMs: number[] = [];
  const store = createStationStore(dir, { index: { compactLines: COMPACT_LINES, onCompactSlice: (ms) => compactSliceMs.push(ms) } });
  const lots = Math.ceil(CELLS / LOT_SIZE);
  const t0 = performance.now();
  for (let l = 0; l < lots; l++) {
    const n = Math.min(LOT_SIZE, CELLS - l * LOT_SIZE);
    await store.createLot(lotFile(l, n));
  }
  // The index fixture is written straight in the store's shard layout (sha1(serial)[0..2] → index/serials-xx.json):
  // 100k awaited indexSerial calls would take minutes and are not what is measured.
  const shards = new Map<string, Record<string, SerialEntry[]>>();
  for (let i = 0; i < CELLS; i++) {
    const key = createHash("sha1").update(serial(i)).digest("hex").slice(0, 2);
    const shard = shards.get(key) ?? shards.set(key, {}).get(key)!;
    shard[serial(i)] = [{ lotId: lotId(Math.floor(i / LOT_SIZE)), runId: `R${i}`, kind: "imprint", finishedAt: createdAt }];
  }
  mkdirSync(path.join(dir, "index"), { recursive: true });
  for (const [key, shard] of shards) writeFileSync(path.join(dir, "index", `serials-${key}.json`), JSON.stringify(shard));
  console.log(`filled ${CELLS} cells in ${lots} lot files + ${shards.size} index shards in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const entry = (i: number): SerialEntry => ({ lotId: lotId(i % lots), runId: `R2-${i}`, kind: "second-life", finishedAt: createdAt });
  const indexMs = await timeWrites(SAMPLES, (i) => store.indexSerial(serial((i * 7919) % CELLS), entry(i)));
  // one lot finishing: every cell's entry written together shares one append and one fdatasync (group commit)
  const groupMs = await timeWrites(quick ? 5 : 20, (k) =>
    Promise.all(Array.from({ length: LOT_SIZE }, (_, c) => store.indexSerial(serial((k * LOT_SIZE + c) % CELLS), entry(SAMPLES + k * LOT_SIZE + c)))).then(() => undefined),
  );
  const lotMs = await timeWrites(SAMPLES, async (i) => {
    const id = lotId(i % lots);
    const file = (await store.lot(id))!;
    file.runs[i % file.runs.length].equipmentTimeS += 1;
    await store.saveLot(id);
  });

  // Baseline: one lowdb file with every cell (its lot run and index entry together), rewritten on every write.
  const naive = await openJsonFile<{ cells: Record<string, { run: Run; index: SerialEntry[] }> }>(path.join(dir, "naive.json"), { cells: {} });
  for (let l = 0; l < lots; l++) for (const run of lotFile(l, Math.min(LOT_SIZE, CELLS - l * LOT_SIZE)).runs) naive.data.cells[run.serial] = { run, index: [{ lotId: run.lotId, runId: run.id, kind: "imprint" }] };
  await naive.write();
  const naiveMs = await timeWrites(NAIVE_SAMPLES, async (i) => {
    naive.data.cells[serial((i * 7919) % CELLS)].index.push(entry(i));
    await naive.write();
  });

  const fig = (metric: string, ms: number[], target: boolean): Figure[] => [
    { bench: "store", metric: `${metric} p50`, value: percentile(ms, 50), unit: "ms", note: `${ms.length} writes` },
    { bench: "store", metric: `${metric} p99`, value: percentile(ms, 99), unit: "ms", ...(target ? { target: TARGET } : {}) },
  ];
  emit([
    ...fig("indexSerial (journal append + fdatasync, 100k cells indexed)", indexMs, true),
    { bench: "store", metric: "index compaction slice (one shard rewritten) p99", value: percentile(compactSliceMs, 99), unit: "ms", note: `event loop held per slice; ${compactSliceMs.length} slices in ${Math.floor(SAMPLES / COMPACT_LINES)} compactions` },
    { bench: "store", metric: `indexSerial × ${LOT_SIZE} together (one lot finishing) p50`, value: percentile(groupMs, 50), unit: "ms", note: `${groupMs.length} lots; one append + fdatasync for all` },
    ...fig(`saveLot (one ${LOT_SIZE}-cell lot file of ${lots})`, lotMs, true),
    ...fig("naive single lowdb file with 100k cells (baseline)", naiveMs, false),
    {
      bench: "store", metric: "naive / partitioned write latency, p50", value: percentile(naiveMs, 50) / Math.max(percentile(indexMs, 50), percentile(lotMs, 50)), unit: "×",
      note: "against the slower of indexSerial and saveLot",
    },
  ]);
  store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
