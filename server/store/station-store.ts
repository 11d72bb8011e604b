/**
 * The station's disk, partitioned so no write rewrites the world (DESIGN §8):
 *   lots/<lotId>.json        lot + its runs (small; rewritten on state changes only)
 *   results/<lotId>.json     figures, curves and grades of the lot's cells (written when analyses finish)
 *   traces/<lotId>/<runId>.csv   append-only records
 *   index/serials-<xx>.json  serial → where its imprint/grades are (256 shards by hash, plus an append-only
 *                            journal: serial-index.ts)
 *
 * Durability: index entries have returned only once on stable storage (an fdatasync'ed journal append); JSON documents
 * are replaced by temp file + fsync + rename (durable-file.ts) — whole after a crash or a power loss, possibly the
 * previous version after a power loss within the file system's commit interval. A failed write (disk
 * full, I/O error) leaves the file as it was, rejects with StoreWriteError and puts `health` into failure until the
 * disk takes writes again (failed lot and result writes are redone from memory by its retries).
 */
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import type { Low } from "lowdb";
import type { Lot, LotFile } from "../station/run.types.ts";
import { nodeStoreFs, type StoreFs } from "./durable-file.ts";
import { createJsonFile, openJsonFile, type JsonFileOptions } from "./json-file.ts";
import { openSerialIndex, type SerialEntry, type SerialIndexOptions } from "./serial-index.ts";
import { createWriteHealth, type WriteHealth, type WriteReporter } from "./write-health.ts";

export type { SerialEntry } from "./serial-index.ts";
export { StoreWriteError, type StoreFs } from "./durable-file.ts";

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Ids end up in file names: refuse anything that could leave the data folder. */
export function assertSafeId(kind: string, id: string): string {
  if (!SAFE_ID.test(id) || id.includes("..")) throw new Error(`${kind} "${id}" is not a safe id (letters, digits, '_', '.', '-'; max 128)`);
  return id;
}

export interface LotResults {
  /** per serial: the analysis result (imprint or second-life grade), JSON as produced by the domain */
  cells: Record<string, unknown>;
  /** lot-level outcome (lot grading / route distribution) */
  lot?: unknown;
}

export interface StationStore {
  readonly dataDir: string;
  createLot(file: LotFile): Promise<void>;
  lot(lotId: string): Promise<LotFile | undefined>;
  /** persist the lot after mutating the object returned by lot() */
  saveLot(lotId: string): Promise<void>;
  listLots(): Promise<Lot[]>;
  traceFile(lotId: string, runId: string): string;
  results(lotId: string): Promise<LotResults>;
  saveResults(lotId: string, update: (r: LotResults) => void): Promise<void>;
  indexSerial(serial: string, entry: SerialEntry): Promise<void>;
  lookupSerial(serial: string): Promise<SerialEntry[]>;
  /** whether the data folder takes writes; other documents of the data folder report to it too (jsonOptions) */
  readonly health: WriteHealth;
  /** options for a JSON document of the data folder outside the store (alarms): same file-write boundary and health */
  jsonOptions(background: boolean): JsonFileOptions;
  close(): void;
}

export interface StationStoreOptions {
  /** the file-write boundary; tests inject a full disk or an I/O error */
  fs?: StoreFs;
  /** period of the retries while writes fail [ms]; default 1000 */
  retryMs?: number;
  index?: Pick<SerialIndexOptions, "compactLines" | "onCompactSlice">;
}

export function createStationStore(dataDir: string, o: StationStoreOptions = {}): StationStore {
  const dir = (...p: string[]) => path.join(dataDir, ...p);
  mkdirSync(dir("lots"), { recursive: true });
  const fs = o.fs ?? nodeStoreFs;
  const health = createWriteHealth({ fs, probeFile: dir(".write-probe"), retryMs: o.retryMs });
  const reporter: WriteReporter = health;
  const docOptions: JsonFileOptions = { fs, health: reporter };
  const lots = new Map<string, Low<LotFile>>();
  const results = new Map<string, Low<LotResults>>();
  const index = openSerialIndex(dir("index"), { fs, health: reporter, ...o.index });

  const lotDb = async (lotId: string): Promise<Low<LotFile> | undefined> => {
    assertSafeId("lot id", lotId);
    const cached = lots.get(lotId);
    if (cached) return cached;
    const file = dir("lots", `${lotId}.json`);
    if (!existsSync(file)) return undefined;
    const db = await openJsonFile<LotFile>(file, {} as LotFile, docOptions);
    if (!db.data?.lot) throw new Error(`${file}: not a lot file (no "lot" object); restore it from a backup or move it aside`);
    lots.set(lotId, db);
    return db;
  };
  const resultsDb = async (lotId: string) => {
    assertSafeId("lot id", lotId);
    let db = results.get(lotId);
    if (!db) {
      db = await openJsonFile<LotResults>(dir("results", `${lotId}.json`), { cells: {} }, docOptions);
      results.set(lotId, db);
    }
    return db;
  };

  return {
    dataDir,
    async createLot(file) {
      assertSafeId("lot id", file.lot.id);
      const path_ = dir("lots", `${file.lot.id}.json`);
      if (existsSync(path_)) throw new Error(`lot ${file.lot.id} exists already`);
      lots.set(file.lot.id, createJsonFile<LotFile>(path_, file, docOptions));
    },
    async lot(lotId) {
      return (await lotDb(lotId))?.data;
    },
    async saveLot(lotId) {
      const db = await lotDb(lotId);
      if (!db) throw new Error(`lot ${lotId} does not exist`);
      await db.write();
    },
    async listLots() {
      const ids = readdirSync(dir("lots")).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
      const out: Lot[] = [];
      for (const id of ids) {
        const db = await lotDb(id);
        if (db?.data) out.push(db.data.lot);
      }
      return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    },
    traceFile: (lotId, runId) => dir("traces", assertSafeId("lot id", lotId), `${assertSafeId("run id", runId)}.csv`),
    async results(lotId) {
      return (await resultsDb(lotId)).data;
    },
    async saveResults(lotId, update) {
      const db = await resultsDb(lotId);
      update(db.data);
      await db.write();
    },
    indexSerial: (serial, entry) => index.add(serial, entry),
    lookupSerial: async (serial) => index.lookup(serial),
    health,
    jsonOptions: (background) => ({ ...docOptions, background }),
    close() {
      health.close();
      index.close();
    },
  };
}
