/**
 * The serial index: journal appends, group commit, background compaction into the 256 shards, replay after a crash
 * (torn last line, interrupted compaction) and a failing disk (nothing half-indexed, recovery once writes succeed).
 */
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreWriteError } from "../../server/store/durable-file.ts";
import { openSerialIndex, type SerialEntry, type SerialIndex } from "../../server/store/serial-index.ts";
import { failingFs, type FailingFs } from "./failing-fs.ts";

let dir: string;
let fs: FailingFs;
let reported: { failed: StoreWriteError[]; succeeded: string[] };
const open: SerialIndex[] = [];
const health = () => ({ failed: (e: StoreWriteError) => void reported.failed.push(e), succeeded: (f: string) => void reported.succeeded.push(f) });
const openIndex = (compactLines = 1000) => {
  const index = openSerialIndex(dir, { fs, health: health(), compactLines });
  open.push(index);
  return index;
};
const entry = (runId: string, lotId = "LOT-1"): SerialEntry => ({ lotId, runId, kind: "imprint" });
/** the shard file a serial lives in, named independently of the code under test: sha1(serial), first two hex digits */
const shardOnDisk = (serial: string) => {
  const file = path.join(dir, `serials-${createHash("sha1").update(serial).digest("hex").slice(0, 2)}.json`);
  return (JSON.parse(readFileSync(file, "utf8")) as Record<string, SerialEntry[]>)[serial];
};
const journals = () => readdirSync(dir).filter((f) => f.startsWith("journal-")).sort();

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "axviam-index-"));
  fs = failingFs();
  reported = { failed: [], succeeded: [] };
});
afterEach(() => {
  for (const i of open.splice(0)) i.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("serial index", () => {
  it("an entry replaces the one of the same run, and survives a reopen from the journal alone", async () => {
    const index = openIndex();
    await index.add("CELL-1", entry("R1"));
    await index.add("CELL-1", entry("R2"));
    await index.add("CELL-1", { ...entry("R1"), finishedAt: "2026-01-02T00:00:00.000Z" });
    expect(index.lookup("CELL-1").map((e) => [e.runId, e.finishedAt])).toEqual([["R1", "2026-01-02T00:00:00.000Z"], ["R2", undefined]]);
    expect(index.lookup("CELL-2")).toEqual([]);
    index.close();
    open.length = 0;
    expect(journals()).toEqual(["journal-1.jsonl"]);
    expect(readFileSync(path.join(dir, "journal-1.jsonl"), "utf8").trimEnd().split("\n")).toHaveLength(3);
    expect(openIndex().lookup("CELL-1").map((e) => e.runId)).toEqual(["R1", "R2"]);
  });

  it("writes arriving together share one append and one fdatasync (group commit)", async () => {
    const index = openIndex();
    await Promise.all(Array.from({ length: 100 }, (_, i) => index.add(`CELL-${i}`, entry(`R${i}`))));
    expect(fs.dataSyncs).toBe(1);
    await index.add("CELL-X", entry("RX"));
    expect(fs.dataSyncs).toBe(2);
    expect(index.lookup("CELL-57")).toEqual([entry("R57")]);
  });

  it("compaction folds the journal into the shards and retires it; the index reads the same before and after a reopen", async () => {
    writeFileSync(path.join(dir, `serials-${createHash("sha1").update("OLD").digest("hex").slice(0, 2)}.json`), JSON.stringify({ OLD: [entry("R0", "LOT-0")] }));
    const index = openIndex(10);
    for (let i = 0; i < 25; i++) await index.add(`CELL-${i % 12}`, entry(`R${i}`));
    await index.add("OLD", entry("R99"));
    await index.idle();
    // 26 lines at a threshold of 10: every generation but the newest retired, its lines in the shards
    expect(journals()).toHaveLength(1);
    expect(journals()[0]).not.toBe("journal-1.jsonl");
    expect(shardOnDisk("CELL-3").map((e) => e.runId)).toContain("R3");
    expect(shardOnDisk("OLD").map((e) => e.runId)[0]).toBe("R0"); // the shard's earlier content is kept
    const expected = Array.from({ length: 12 }, (_, s) => Array.from({ length: 25 }, (_, i) => i).filter((i) => i % 12 === s).map((i) => `R${i}`));
    for (let s = 0; s < 12; s++) expect(index.lookup(`CELL-${s}`).map((e) => e.runId)).toEqual(expected[s]);
    index.close();
    open.length = 0;
    const again = openIndex(10);
    for (let s = 0; s < 12; s++) expect(again.lookup(`CELL-${s}`).map((e) => e.runId)).toEqual(expected[s]);
    expect(again.lookup("OLD").map((e) => e.runId)).toEqual(["R0", "R99"]);
  });

  it("after an interrupted compaction (shards partly rewritten, older generation still there) replay gives the same index", async () => {
    // as a compaction killed after rotating to generation 2 and rewriting CELL-A's shard only
    writeFileSync(path.join(dir, "journal-1.jsonl"), [["CELL-A", "R1"], ["CELL-B", "R2"]].map(([serial, runId]) => JSON.stringify({ serial, entry: entry(runId) })).join("\n") + "\n");
    writeFileSync(path.join(dir, "journal-2.jsonl"), JSON.stringify({ serial: "CELL-A", entry: entry("R1", "LOT-9") }) + "\n");
    writeFileSync(path.join(dir, `serials-${createHash("sha1").update("CELL-A").digest("hex").slice(0, 2)}.json`), JSON.stringify({ "CELL-A": [entry("R1", "LOT-9")] }));
    const index = openIndex();
    expect(index.lookup("CELL-A")).toEqual([entry("R1", "LOT-9")]);
    expect(index.lookup("CELL-B")).toEqual([entry("R2")]);
    // leftovers are compacted with the first write
    await index.add("CELL-C", entry("R3"));
    await index.idle();
    expect(journals()).toEqual(["journal-3.jsonl"]);
    expect(shardOnDisk("CELL-B")).toEqual([entry("R2")]);
    expect(shardOnDisk("CELL-A")).toEqual([entry("R1", "LOT-9")]);
  });

  it("a torn last line (killed mid-append) is cut off at open, and appends continue after the last whole line", async () => {
    const index = openIndex();
    await index.add("CELL-1", entry("R1"));
    index.close();
    open.length = 0;
    const journal = path.join(dir, "journal-1.jsonl");
    const whole = readFileSync(journal, "utf8");
    appendFileSync(journal, '{"serial":"CELL-2","entry":{"lotId":"LO');
    const again = openIndex();
    expect(readFileSync(journal, "utf8")).toBe(whole);
    await again.add("CELL-3", entry("R3"));
    expect(readFileSync(journal, "utf8")).toBe(`${whole}${JSON.stringify({ serial: "CELL-3", entry: entry("R3") })}\n`);
    expect(again.lookup("CELL-2")).toEqual([]);
  });

  it("a line in the middle that is not JSON stops the open with the file and line named", () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "journal-1.jsonl"), `${JSON.stringify({ serial: "A", entry: entry("R1") })}\ngarbage\n${JSON.stringify({ serial: "B", entry: entry("R2") })}\n`);
    expect(() => openIndex()).toThrow(/journal-1\.jsonl:2: not a journal line/);
  });

  it("on a full disk a write is rejected whole — not looked up, not on disk, not replayed — and writes resume once space is back", async () => {
    const index = openIndex();
    await index.add("CELL-1", entry("R1"));
    const journal = path.join(dir, "journal-1.jsonl");
    const before = readFileSync(journal, "utf8");
    fs.fail("ENOSPC");
    const failed = index.add("CELL-2", entry("R2"));
    await expect(failed).rejects.toThrow(StoreWriteError);
    await expect(failed).rejects.toThrow(/journal-1\.jsonl: not written \(ENOSPC/);
    expect(reported.failed.map((e) => e.file)).toEqual([journal]);
    expect(index.lookup("CELL-2")).toEqual([]);
    expect(readFileSync(journal, "utf8").startsWith(before)).toBe(true); // the part written is after the last whole line
    fs.fail("EIO");
    await expect(index.add("CELL-2", entry("R2"))).rejects.toThrow(/EIO/);
    fs.fail(undefined);
    await index.add("CELL-3", entry("R3"));
    expect(readFileSync(journal, "utf8")).toBe(`${before}${JSON.stringify({ serial: "CELL-3", entry: entry("R3") })}\n`);
    expect(reported.succeeded.at(-1)).toBe(journal);
    index.close();
    open.length = 0;
    const again = openIndex();
    expect(again.lookup("CELL-2")).toEqual([]);
    expect(again.lookup("CELL-3")).toEqual([entry("R3")]);
  });
});
