import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openOutbox } from "../../server/plant/outbox.ts";

const msg = (i: number) => ({ id: `m-${i}`, topic: "axviam/p/l/s/grades", payload: JSON.stringify({ i }) });
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "axviam-outbox-"));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("plant outbox", () => {
  it("keeps unacknowledged messages across a reopen, in order, and skips ids already pending", async () => {
    const dir = tempDir();
    const a = await openOutbox(dir);
    await a.add([msg(1), msg(2), msg(3)]);
    await a.add([msg(2), msg(4), msg(4)]);
    expect(a.size()).toBe(4);
    expect(await a.confirm(["m-2", "not-mine"])).toBe(1);
    expect(a.has("m-2")).toBe(false);
    await a.close();

    const b = await openOutbox(dir);
    expect(b.pending().map((m) => m.id)).toEqual(["m-1", "m-3", "m-4"]);
    expect(b.pending(2, (id) => id === "m-1").map((m) => m.id)).toEqual(["m-3", "m-4"]);
    expect(JSON.parse(b.pending()[0].payload)).toEqual({ i: 1 });
    await b.close();
  });

  it("deletes a segment once every message in it is acknowledged, and rolls segments at 2000 messages", async () => {
    const dir = tempDir();
    const box = await openOutbox(dir);
    await box.add(Array.from({ length: 2500 }, (_, i) => msg(i)));
    expect(readdirSync(dir).filter((f) => f.endsWith(".jsonl"))).toHaveLength(2);
    await box.confirm(Array.from({ length: 2000 }, (_, i) => `m-${i}`));
    // the first (full, closed) segment is gone; the current one stays
    expect(readdirSync(dir).filter((f) => f.endsWith(".jsonl"))).toEqual(["segment-00000002.jsonl"]);
    expect(box.size()).toBe(500);
    await box.close();
    const again = await openOutbox(dir);
    expect(again.size()).toBe(500);
    expect(again.pending(1)[0].id).toBe("m-2000");
    await again.close();
  });

  it("skips a torn last line (crash mid-append) and remembers marks", async () => {
    const dir = tempDir();
    const box = await openOutbox(dir);
    await box.add([msg(1)]);
    await box.mark("lot:L1");
    await box.close();
    appendFileSync(path.join(dir, "segment-00000001.jsonl"), '{"id":"m-2","topic":"x","payl');
    const again = await openOutbox(dir);
    expect(again.pending().map((m) => m.id)).toEqual(["m-1"]);
    expect(again.hasMark("lot:L1")).toBe(true);
    expect(again.hasMark("lot:L2")).toBe(false);
    await again.close();
  });

  it("a torn receipt or mark line is cut off, never read as a shorter id or key", async () => {
    const dir = tempDir();
    const box = await openOutbox(dir);
    await box.add([msg(1), msg(12)]);
    await box.confirm(["m-12"]);
    await box.mark("lot:L12");
    await box.close();
    // a power loss mid-append left "m-1" of "m-13\n" and "lot:L1" of "lot:L14\n"
    appendFileSync(path.join(dir, "segment-00000001.acks"), "m-1");
    appendFileSync(path.join(dir, "marks.txt"), "lot:L1");
    const again = await openOutbox(dir);
    expect(again.pending().map((m) => m.id)).toEqual(["m-1"]);
    expect(again.hasMark("lot:L1")).toBe(false);
    expect(again.hasMark("lot:L12")).toBe(true);
    // the torn tails are gone from disk, so the next append starts a line of its own
    expect(readFileSync(path.join(dir, "marks.txt"), "utf8")).toBe("lot:L12\n");
    await again.mark("lot:L1");
    await again.close();
    expect((await openOutbox(dir)).hasMark("lot:L1")).toBe(true);
  });

  it("carries the few live messages of a sparse segment into a new one at open and deletes the old files", async () => {
    const dir = tempDir();
    const box = await openOutbox(dir);
    await box.add(Array.from({ length: 100 }, (_, i) => msg(i)));
    // the plant confirmed all but two (say it refuses them until it is upgraded)
    await box.confirm(Array.from({ length: 100 }, (_, i) => `m-${i}`).filter((id) => id !== "m-7" && id !== "m-50"));
    await box.close();
    const again = await openOutbox(dir);
    expect(readdirSync(dir).filter((f) => f.startsWith("segment-")).sort()).toEqual(["segment-00000002.jsonl"]);
    expect(readFileSync(path.join(dir, "segment-00000002.jsonl"), "utf8").trim().split("\n")).toHaveLength(2);
    expect(again.pending().map((m) => m.id)).toEqual(["m-7", "m-50"]);
    await again.confirm(["m-50"]);
    await again.close();
    const third = await openOutbox(dir);
    expect(third.pending().map((m) => m.id)).toEqual(["m-7"]);
    await third.close();
  });

  it("drops acks left without their segment (crash between the two unlinks)", async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "segment-00000001.acks"), "m-1\n");
    const box = await openOutbox(dir);
    await box.add([msg(1)]);
    expect(readdirSync(dir).sort()).toEqual(["segment-00000001.jsonl"]);
    await box.close();
    expect((await openOutbox(dir)).pending().map((m) => m.id)).toEqual(["m-1"]);
  });
});
