/**
 * The station's disk, partitioned so no write rewrites the world (DESIGN §8):
 *   lots/<lotId>.json        lot + its runs (small; rewritten on state changes only)
 *   results/<lotId>.json     figures, curves and grades of the lot's cells (written when analyses finish)
 *   traces/<lotId>/<runId>.csv   append-only records
 *   index/serials-<xx>.json  serial → where its imprint/grades are (256 shards by hash)
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import type { Low } from "lowdb";
import type { Lot, LotFile } from "../station/run.types.ts";
import { openJsonFile } from "./json-file.ts";

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Ids end up in file names: refuse anything that could leave the data folder. */
export function assertSafeId(kind: string, id: string): string {
  if (!SAFE_ID.test(id) || id.includes("..")) throw new Error(`${kind} "${id}" is not a safe id (letters, digits, '_', '.', '-'; max 128)`);
  return id;
}

export interface SerialEntry {
  lotId: string;
  runId: string;
  kind: "imprint" | "second-life";
  finishedAt?: string;
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
}

export function createStationStore(dataDir: string): StationStore {
  const dir = (...p: string[]) => path.join(dataDir, ...p);
  mkdirSync(dir("lots"), { recursive: true });
  const lots = new Map<string, Low<LotFile>>();
  const results = new Map<string, Low<LotResults>>();
  const shards = new Map<string, Low<Record<string, SerialEntry[]>>>();

  const lotDb = async (lotId: string): Promise<Low<LotFile> | undefined> => {
    assertSafeId("lot id", lotId);
    const cached = lots.get(lotId);
    if (cached) return cached;
    const file = dir("lots", `${lotId}.json`);
    if (!existsSync(file)) return undefined;
    const db = await openJsonFile<LotFile>(file, {} as LotFile);
    if (!db.data?.lot) throw new Error(`${file}: not a lot file (no "lot" object); restore it from a backup or move it aside`);
    lots.set(lotId, db);
    return db;
  };
  const resultsDb = async (lotId: string) => {
    assertSafeId("lot id", lotId);
    let db = results.get(lotId);
    if (!db) {
      db = await openJsonFile<LotResults>(dir("results", `${lotId}.json`), { cells: {} });
      results.set(lotId, db);
    }
    return db;
  };
  const shardDb = async (serial: string) => {
    const key = createHash("sha1").update(serial).digest("hex").slice(0, 2);
    let db = shards.get(key);
    if (!db) {
      db = await openJsonFile<Record<string, SerialEntry[]>>(dir("index", `serials-${key}.json`), {});
      shards.set(key, db);
    }
    return db;
  };

  return {
    dataDir,
    async createLot(file) {
      assertSafeId("lot id", file.lot.id);
      const path_ = dir("lots", `${file.lot.id}.json`);
      if (existsSync(path_)) throw new Error(`lot ${file.lot.id} exists already`);
      const db = await openJsonFile<LotFile>(path_, file);
      await db.write();
      lots.set(file.lot.id, db);
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
    async indexSerial(serial, entry) {
      const db = await shardDb(serial);
      const list = (db.data[serial] ??= []);
      const i = list.findIndex((e) => e.runId === entry.runId);
      if (i >= 0) list[i] = entry;
      else list.push(entry);
      await db.write();
    },
    async lookupSerial(serial) {
      return (await shardDb(serial)).data[serial] ?? [];
    },
  };
}
