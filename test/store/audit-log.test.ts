/** Hash chain of the audit log: intact logs verify; an edited, deleted or reordered line is found by number. */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { auditFile, entryHash, GENESIS_HASH, openAuditLog, verifyAuditLog } from "../../server/store/audit-log.ts";

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "axviam-audit-"));
  file = auditFile(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const fill = (n: number) => {
  let t = Date.parse("2026-12-01T08:00:00Z");
  const log = openAuditLog(file, () => new Date((t += 1000)));
  for (let i = 1; i <= n; i++) log.append({ actor: i % 2 ? "olga" : "station", action: i % 2 ? "lot.start" : "lot.state", target: `lot-${i}`, details: { i } });
  return log;
};
const lines = () => readFileSync(file, "utf8").trimEnd().split("\n");
const write = (ls: string[]) => writeFileSync(file, `${ls.join("\n")}\n`);

describe("audit chain", () => {
  it("chains each entry to the previous by sha256(prevHash + canonical JSON)", () => {
    fill(3);
    const [first, second] = lines().map((l) => JSON.parse(l));
    expect(first.prevHash).toBe(GENESIS_HASH);
    // Independent recomputation: canonical JSON of the first entry written out by hand (keys sorted, no spaces).
    const canonical = `{"action":"lot.start","actor":"olga","at":"2026-12-01T08:00:01.000Z","details":{"i":1},"prevHash":"${GENESIS_HASH}","seq":1,"target":"lot-1"}`;
    expect(first.hash).toBe(createHash("sha256").update(GENESIS_HASH + canonical).digest("hex"));
    expect(second.prevHash).toBe(first.hash);
    expect(verifyAuditLog(file)).toEqual({ ok: true, entries: 3, lastHash: JSON.parse(lines()[2]).hash });
  });

  it("continues the chain after reopening", () => {
    fill(2);
    const log = openAuditLog(file);
    expect(log.append({ actor: "sam", action: "alarm.shelve", target: "a1" }).seq).toBe(3);
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, entries: 3 });
  });

  it("finds an edited line", () => {
    fill(5);
    const ls = lines();
    ls[2] = ls[2].replace('"actor":"olga"', '"actor":"sam"');
    write(ls);
    expect(verifyAuditLog(file)).toEqual({ ok: false, line: 3, reason: "content does not match its hash (entry edited)" });
  });

  it("finds an edit whose own hash was recomputed: the next line no longer links", () => {
    fill(5);
    const ls = lines();
    const e = JSON.parse(ls[1]);
    e.details = { i: 99 };
    const { hash: _old, ...body } = e;
    e.hash = entryHash(e.prevHash, body);
    ls[1] = JSON.stringify(e);
    write(ls);
    expect(verifyAuditLog(file)).toEqual({ ok: false, line: 3, reason: "prevHash does not match the previous entry's hash" });
  });

  it("finds a deleted line and reordered lines", () => {
    fill(5);
    const ls = lines();
    write([...ls.slice(0, 3), ...ls.slice(4)]);
    expect(verifyAuditLog(file)).toMatchObject({ ok: false, line: 4 });
    write([ls[0], ls[2], ls[1], ls[3], ls[4]]);
    expect(verifyAuditLog(file)).toMatchObject({ ok: false, line: 2 });
  });

  it("refuses to append to a broken chain", () => {
    fill(2);
    write([lines()[1]]);
    expect(() => openAuditLog(file)).toThrow(/audit chain broken at line 1/);
  });

  it("filters newest first by actor, action prefix, target and time", () => {
    const log = fill(6);
    expect(log.query({ actor: "olga" }).map((e) => e.seq)).toEqual([5, 3, 1]);
    expect(log.query({ action: "lot" }).map((e) => e.seq)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(log.query({ action: "lot.state", limit: 2 }).map((e) => e.seq)).toEqual([6, 4]);
    expect(log.query({ target: "lot-3" }).map((e) => e.seq)).toEqual([3]);
    expect(log.query({ sinceIso: "2026-12-01T08:00:05.000Z" }).map((e) => e.seq)).toEqual([6, 5]);
  });
});

describe("audit-verify CLI", () => {
  const run = () => spawnSync(process.execPath, ["--import", "tsx", "server/cli/audit-verify.ts", file], { encoding: "utf8" });
  it("exits 0 on an intact log and 1 with the line on a tampered one", () => {
    fill(4);
    const ok = run();
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/OK, 4 entries/);
    const ls = lines();
    write([ls[0], ls[1], ls[3]]);
    const bad = run();
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/TAMPERED at line 3/);
  });
});
