/**
 * JSON documents on the durable writer, and the store's write health: a failing write (full disk, I/O error) leaves
 * the file byte for byte as it was and no temp file behind, is reported and redone from memory once the disk takes
 * writes again; a refused new document is never written later.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreWriteError } from "../../server/store/durable-file.ts";
import { createJsonFile, openJsonFile } from "../../server/store/json-file.ts";
import { createWriteHealth } from "../../server/store/write-health.ts";
import { failingFs, type FailingFs } from "./failing-fs.ts";

let dir: string;
let fs: FailingFs;
let health: ReturnType<typeof createWriteHealth>;
let changes: (string | undefined)[];
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "axviam-json-"));
  fs = failingFs();
  health = createWriteHealth({ fs, probeFile: path.join(dir, ".probe"), retryMs: 60_000 });
  changes = [];
  health.onChange((f) => changes.push(f?.file));
});
afterEach(() => {
  health.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("JSON documents", () => {
  it("a failed write keeps the file as it was and leaves no temp file; the retry writes the document's current content", async () => {
    const file = path.join(dir, "lot.json");
    const db = await openJsonFile(file, { state: "execute", n: 1 }, { fs, health });
    await db.write();
    const before = readFileSync(file, "utf8");
    expect(JSON.parse(before)).toEqual({ state: "execute", n: 1 });

    fs.fail("ENOSPC");
    db.data.n = 2;
    const err = await db.write().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreWriteError);
    expect((err as StoreWriteError).file).toBe(file);
    expect((err as StoreWriteError).cause.message).toMatch(/ENOSPC/);
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(readdirSync(dir)).toEqual(["lot.json"]);
    expect(health.failure()?.file).toBe(file);

    db.data.n = 3; // the runtime carries on in memory
    expect(health.retry()?.file).toBe(file); // still full
    expect(readFileSync(file, "utf8")).toBe(before);
    fs.fail("EIO"); // the device fails fsync: the rename never happens either
    expect(health.retry()).toBeDefined();
    expect(readFileSync(file, "utf8")).toBe(before);

    fs.fail(undefined);
    expect(health.retry()).toBeUndefined();
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ state: "execute", n: 3 });
    expect(readFileSync(file, "utf8")).toBe(JSON.stringify({ state: "execute", n: 3 }, null, 2)); // lowdb's readable layout
    expect(changes).toEqual([file, undefined]);
  });

  it("a background document's write never rejects; its failure is reported and redone", async () => {
    const file = path.join(dir, "alarms.json");
    const db = await openJsonFile(file, { alarms: ["a"] }, { fs, health, background: true });
    fs.fail("ENOSPC");
    await expect(db.write()).resolves.toBeUndefined();
    expect(existsSync(file)).toBe(false);
    expect(health.failure()?.file).toBe(file);
    fs.fail(undefined);
    health.retry();
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ alarms: ["a"] });
    expect(health.failure()).toBeUndefined();
  });

  it("a refused new document is not written once the disk is back; a probe write ends the failure", () => {
    const file = path.join(dir, "lots", "LOT-1.json");
    fs.fail("ENOSPC");
    expect(() => createJsonFile(file, { lot: { id: "LOT-1" } }, { fs, health })).toThrow(StoreWriteError);
    expect(existsSync(file)).toBe(false);
    expect(health.retry()?.file).toBe(file); // the probe fails too
    fs.fail(undefined);
    expect(health.retry()).toBeUndefined();
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir)).toEqual(["lots"]); // the probe cleans up after itself
    expect(readdirSync(path.join(dir, "lots"))).toEqual([]);
    expect(changes).toEqual([file, undefined]);
  });

  it("an unreadable document stops the open with the file named", async () => {
    const file = path.join(dir, "broken.json");
    createJsonFile(file, { a: 1 });
    writeFileSync(file, '{"a": 1,');
    await expect(openJsonFile(file, {})).rejects.toThrow(/broken\.json: unreadable JSON store/);
  });
});
