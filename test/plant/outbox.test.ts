import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
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
    await a.ack("m-2");
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
    for (let i = 0; i < 2000; i++) await box.ack(`m-${i}`);
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
});
