/**
 * Applies server/plant/migrations/NNN_name.sql in order, each in its own transaction, and records it in
 * schema_migrations. Running it again applies nothing; two plant services starting at once serialise on an
 * advisory lock. A migration already applied is never edited — add the next file instead.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Pool } from "pg";

export const MIGRATIONS_DIR = path.join(import.meta.dirname, "migrations");

/** arbitrary constant key for pg_advisory_lock: "AXVIAM" in ASCII */
const LOCK_KEY = 0x415856494d;

export class MigrationError extends Error {
  constructor(file: string, cause: string) {
    super(`migration ${file} failed: ${cause}`);
    this.name = "MigrationError";
  }
}

/** Returns the versions applied by this call (empty when the schema was up to date). */
export async function migrate(pool: Pool, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3,}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
    await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
    const done = new Set((await client.query<{ version: string }>("SELECT version FROM schema_migrations")).rows.map((r) => r.version));
    const applied: string[] = [];
    for (const file of files) {
      const version = file.slice(0, -4);
      if (done.has(version)) continue;
      const sql = await readFile(path.join(dir, file), "utf8");
      try {
        await client.query("BEGIN");
        await client.query(sql);
        await client.query("INSERT INTO schema_migrations (version) VALUES ($1)", [version]);
        await client.query("COMMIT");
      } catch (e) {
        await client.query("ROLLBACK");
        throw new MigrationError(file, (e as Error).message);
      }
      applied.push(version);
    }
    return applied;
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
