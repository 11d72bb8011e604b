/** lowdb-backed JSON documents: atomic writes (temp file + rename), one small file per partition. */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { Low } from "lowdb";
import { JSONFile } from "lowdb/node";

export async function openJsonFile<T>(file: string, defaults: T): Promise<Low<T>> {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Low<T>(new JSONFile<T>(file), defaults);
  try {
    await db.read();
  } catch (e) {
    throw new Error(`${file}: unreadable JSON store (${(e as Error).message}); restore it from a backup or move it aside`);
  }
  return db;
}
