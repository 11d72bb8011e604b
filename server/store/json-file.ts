/**
 * lowdb documents on the store's durable writer (durable-file.ts): each write replaces the file atomically and
 * durably (temp + fsync + rename + folder fsync), pretty-printed JSON as lowdb writes it. One small file per partition.
 */
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Low, type Adapter } from "lowdb";
import { nodeStoreFs, replaceFile, StoreWriteError, type StoreFs } from "./durable-file.ts";
import type { WriteReporter } from "./write-health.ts";

export interface JsonFileOptions {
  /** the file-write boundary (tests inject failures) */
  fs?: StoreFs;
  /** told of every failed and successful write; a failed write is redone from the document's content by its retries */
  health?: WriteReporter;
  /**
   * write() never rejects: a failure goes to `health` only and is retried there. For documents whose writers do not
   * wait (the alarm list): a rejected promise nobody handles would end the process.
   */
  background?: boolean;
}

function durableJsonAdapter<T>(file: string, o: JsonFileOptions): Adapter<T> & { writeNow(data: T, redoOnFailure: boolean): void } {
  const fs = o.fs ?? nodeStoreFs;
  const writeNow = (data: T, redoOnFailure: boolean) => {
    try {
      replaceFile(fs, file, JSON.stringify(data, null, 2));
    } catch (e) {
      if (e instanceof StoreWriteError) o.health?.failed(e, redoOnFailure ? () => writeNow(data, true) : undefined);
      throw e;
    }
    o.health?.succeeded(file);
  };
  return {
    writeNow,
    async read() {
      try {
        return JSON.parse(readFileSync(file, "utf8")) as T;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw e;
      }
    },
    async write(data) {
      try {
        writeNow(data, true);
      } catch (e) {
        if (!(o.background && e instanceof StoreWriteError)) throw e;
      }
    },
  };
}

/** Opens file (defaults when it does not exist yet; nothing is written until write()). */
export async function openJsonFile<T>(file: string, defaults: T, options: JsonFileOptions = {}): Promise<Low<T>> {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Low<T>(durableJsonAdapter<T>(file, options), defaults);
  try {
    await db.read();
  } catch (e) {
    throw new Error(`${file}: unreadable JSON store (${(e as Error).message}); restore it from a backup or move it aside`);
  }
  return db;
}

/**
 * Writes a new document and opens it. A failed first write throws StoreWriteError and is not redone later: the
 * caller was told the document does not exist (a refused new lot must not appear once the disk is back).
 */
export function createJsonFile<T>(file: string, data: T, options: JsonFileOptions = {}): Low<T> {
  mkdirSync(path.dirname(file), { recursive: true });
  const adapter = durableJsonAdapter<T>(file, options);
  adapter.writeNow(data, false);
  return new Low<T>(adapter, data);
}
