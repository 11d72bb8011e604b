/**
 * serial → where its imprint/grades are: 256 JSON shards by hash (index/serials-<xx>.json) plus an append-only
 * journal (index/journal-<generation>.jsonl, one `{"serial","entry"}` line per write).
 *
 * A write appends one line and fdatasyncs it — a few hundred bytes instead of a whole ~60 kB shard (which also had to
 * be read first when cold); writes arriving together share one append and one sync (group commit), each caller
 * resolving only once its line is on stable storage. Once the journal holds `compactLines` lines, compaction runs in
 * the background, one shard per event-loop turn: it starts a new journal generation, rewrites every shard touched
 * since the last compaction (replaceFile: temp + fsync + rename), fsyncs the folder and then deletes the older
 * generations.
 *
 * Crash safety: replaying a line is idempotent (an entry replaces the one of the same run), so shards written by an
 * interrupted compaction plus the journals still on disk give the same index; a torn last line (killed mid-append)
 * is cut off at open — its write had not returned.
 */
import { createHash } from "node:crypto";
import { closeSync, constants, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { replaceFile, StoreWriteError, syncFolder, writeAll, type StoreFs } from "./durable-file.ts";
import type { WriteReporter } from "./write-health.ts";

export interface SerialEntry {
  lotId: string;
  runId: string;
  kind: "imprint" | "second-life";
  finishedAt?: string;
}

export interface SerialIndex {
  /** resolves once the entry is on stable storage (rejects with StoreWriteError, and the entry is not indexed) */
  add(serial: string, entry: SerialEntry): Promise<void>;
  lookup(serial: string): SerialEntry[];
  /** resolves when no compaction is running (tests, benchmarks) */
  idle(): Promise<void>;
  close(): void;
}

export interface SerialIndexOptions {
  fs: StoreFs;
  health: WriteReporter;
  /** journal lines that start a compaction; default 4096 (≈ 0.5 MB, replayed in a few ms at start) */
  compactLines?: number;
  /** told how long each compaction slice (one shard rewritten) blocked the event loop [ms] */
  onCompactSlice?: (ms: number) => void;
}

type Shard = Record<string, SerialEntry[]>;
interface JournalLine {
  serial: string;
  entry: SerialEntry;
}

const JOURNAL = /^journal-(\d+)\.jsonl$/;
export const shardKey = (serial: string) => createHash("sha1").update(serial).digest("hex").slice(0, 2);

function apply(shard: Shard, { serial, entry }: JournalLine): void {
  const list = (shard[serial] ??= []);
  const i = list.findIndex((e) => e.runId === entry.runId);
  if (i >= 0) list[i] = entry;
  else list.push(entry);
}

/** The journal's complete lines; a torn last line is cut off the file. */
function readJournal(file: string): JournalLine[] {
  const text = readFileSync(file, "utf8");
  const end = text.lastIndexOf("\n") + 1;
  if (end < text.length) {
    const fd = openSync(file, "r+");
    ftruncateSync(fd, Buffer.byteLength(text.slice(0, end)));
    closeSync(fd);
  }
  return text
    .slice(0, end)
    .split("\n")
    .filter((l) => l !== "")
    .map((l, i) => {
      try {
        return JSON.parse(l) as JournalLine;
      } catch {
        throw new Error(`${file}:${i + 1}: not a journal line; restore the index folder from a backup or move the file aside`);
      }
    });
}

export function openSerialIndex(dir: string, o: SerialIndexOptions): SerialIndex {
  mkdirSync(dir, { recursive: true });
  const compactLines = o.compactLines ?? 4096;
  const shardFile = (key: string) => path.join(dir, `serials-${key}.json`);
  const journalFile = (gen: number) => path.join(dir, `journal-${gen}.jsonl`);

  const shards = new Map<string, Shard>();
  /** journaled lines of shards not loaded yet */
  const overlay = new Map<string, JournalLine[]>();
  /** shards with lines in a journal generation that the next compaction retires */
  const dirty = new Set<string>();
  const remember = (line: JournalLine) => {
    const key = shardKey(line.serial);
    dirty.add(key);
    const shard = shards.get(key);
    if (shard) apply(shard, line);
    else overlay.set(key, [...(overlay.get(key) ?? []), line]);
  };
  const shard = (key: string): Shard => {
    let s = shards.get(key);
    if (!s) {
      const file = shardFile(key);
      try {
        s = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Shard) : {};
      } catch (e) {
        throw new Error(`${file}: unreadable index shard (${(e as Error).message}); restore it from a backup or move it aside`);
      }
      for (const line of overlay.get(key) ?? []) apply(s, line);
      overlay.delete(key);
      shards.set(key, s);
    }
    return s;
  };

  // Replay every generation still on disk (more than one after a compaction was interrupted), oldest first.
  const gens = readdirSync(dir).flatMap((f) => (JOURNAL.test(f) ? [Number(JOURNAL.exec(f)![1])] : [])).sort((a, b) => a - b);
  for (const g of gens) readJournal(journalFile(g)).forEach(remember);
  let gen = gens.at(-1) ?? 1;
  // read-write, not append: writes go to explicit positions (Linux appends a positioned write on an O_APPEND file)
  const openJournal = (g: number) => openSync(journalFile(g), constants.O_RDWR | constants.O_CREAT);
  let fd = openJournal(gen);
  let position = fstatSync(fd).size;
  let lines = dirty.size === 0 ? 0 : compactLines; // leftovers from the last run are compacted at the first write
  let closed = false;
  /** a failed append may have left part of its batch after `position` */
  let torn = false;

  let queue: { line: JournalLine; resolve: () => void; reject: (e: Error) => void }[] = [];
  const flush = () => {
    const batch = queue;
    queue = [];
    const bytes = Buffer.from(batch.map((b) => `${JSON.stringify(b.line)}\n`).join(""));
    try {
      if (closed) throw new Error("the index is closed");
      if (torn) ftruncateSync(fd, position);
      torn = false;
      writeAll(o.fs, fd, bytes, position);
      o.fs.sync(fd, true);
    } catch (e) {
      // Nothing of the batch counts: whatever part of it reached the file is cut off before the next append (or at
      // open, after a crash).
      torn = true;
      const err = new StoreWriteError(journalFile(gen), e as Error);
      o.health.failed(err);
      batch.forEach((b) => b.reject(err));
      return;
    }
    position += bytes.length;
    lines += batch.length;
    o.health.succeeded(journalFile(gen));
    for (const b of batch) {
      remember(b.line);
      b.resolve();
    }
    if (lines >= compactLines && !compacting) compacting = compact();
  };

  let compacting: Promise<void> | undefined;
  const compact = async () => {
    const keys = [...dirty];
    dirty.clear();
    const retired = gen;
    try {
      // a new generation first: lines written from now on are not retired by this compaction
      const next = openJournal(retired + 1);
      syncFolder(o.fs, dir);
      if (torn) ftruncateSync(fd, position);
      torn = false;
      closeSync(fd);
      fd = next;
      gen = retired + 1;
      position = 0;
      lines = 0;
      for (let i = 0; i < keys.length && !closed; i++) {
        await new Promise((r) => setImmediate(r));
        const t = performance.now();
        replaceFile(o.fs, shardFile(keys[i]), JSON.stringify(shard(keys[i]), null, 2));
        o.health.succeeded(shardFile(keys[i]));
        keys[i] = "";
        o.onCompactSlice?.(performance.now() - t);
      }
      if (closed) return;
      syncFolder(o.fs, dir); // the shards' renames are on disk before the journals they replace are deleted
      for (const g of readdirSync(dir).flatMap((f) => (JOURNAL.test(f) ? [Number(JOURNAL.exec(f)![1])] : []))) if (g <= retired) rmSync(journalFile(g));
    } catch (e) {
      // the retired journals stay until a later compaction has rewritten every shard they touch
      if (e instanceof StoreWriteError) o.health.failed(e);
      else o.health.failed(new StoreWriteError(dir, e as Error));
    } finally {
      for (const k of keys) if (k !== "") dirty.add(k);
      // the journal may have filled again while this one ran
      compacting = lines >= compactLines && !closed ? compact() : undefined;
    }
  };

  return {
    add(serial, entry) {
      return new Promise((resolve, reject) => {
        queue.push({ line: { serial, entry }, resolve, reject });
        if (queue.length === 1) queueMicrotask(flush);
      });
    },
    lookup: (serial) => shard(shardKey(serial))[serial] ?? [],
    idle: async () => {
      while (compacting) await compacting;
    },
    close() {
      closed = true;
      closeSync(fd);
    },
  };
}
