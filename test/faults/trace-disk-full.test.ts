/**
 * A full disk under the append-only trace store, on a real 64 KiB tmpfs (needs root to mount; skipped otherwise —
 * a read-only folder does not stop root). A full disk first gives a short write, then ENOSPC: the store must lose
 * nothing it claims to hold, leave no torn line mid-file, and carry on where it stopped once space is back.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTrace, readTrace, TraceWriteError, type TraceRecord } from "../../server/store/trace-store.ts";

let dir: string;
let mounted = false;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "axviam-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { stdio: "ignore" });
    mounted = true;
  } catch {
    mounted = false;
  }
});
afterAll(() => {
  if (mounted) execFileSync("umount", [dir]);
  rmSync(dir, { recursive: true, force: true });
});

const record = (seq: number): TraceRecord => ({
  seq: BigInt(seq), unixTimeS: 1.7e9 + seq, testTimeS: seq, phaseIndex: 0, stepIndex: 1, cycle: 0,
  voltageV: 3.6 + seq * 1e-5, currentA: 1, temperatureC: 25, chargeAh: seq / 3600, dischargeAh: 0, chargeWh: 0, dischargeWh: 0, flags: 0,
});
const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => record(from + i));

describe("trace store on a full disk", () => {
  it("refuses a batch whole, keeps lastSeq true, and resumes without a gap once space is freed", (ctx) => {
    if (!mounted) ctx.skip();
    const trace = openTrace(path.join(dir, "traces", "run-1.csv"));
    // ballast we can delete later to free space
    const ballast = path.join(dir, "ballast.bin");
    writeFileSync(ballast, Buffer.alloc(16 * 1024));

    let next = 1;
    let failure: unknown;
    for (let i = 0; i < 200 && failure === undefined; i++) {
      try {
        trace.append(batch(next, 37));
        next += 37;
      } catch (e) {
        failure = e;
      }
    }
    expect(failure).toBeInstanceOf(TraceWriteError);
    expect((failure as TraceWriteError).cause.message).toMatch(/ENOSPC/);
    expect((failure as TraceWriteError).firstSeq).toBe(BigInt(next));
    // what the store claims is exactly what is on disk: every line whole, nothing after lastSeq, nothing missing
    expect(trace.lastSeq()).toBe(BigInt(next - 1));
    const onDisk = readTrace(trace.file);
    expect(onDisk.map((r) => Number(r.seq))).toEqual(Array.from({ length: next - 1 }, (_, i) => i + 1));
    const sizeAtFailure = statSync(trace.file).size;

    // the station's next tick asks the cycler again from lastSeq() and retries: still full, still all-or-nothing
    expect(() => trace.append(batch(next, 37))).toThrow(TraceWriteError);
    expect(statSync(trace.file).size).toBe(sizeAtFailure);

    rmSync(ballast);
    expect(trace.append(batch(next, 37))).toBe(37);
    trace.close();
    const after = readTrace(trace.file);
    expect(after.map((r) => Number(r.seq))).toEqual(Array.from({ length: next + 36 }, (_, i) => i + 1));
    expect(after.at(-1)!.voltageV).toBeCloseTo(record(next + 36).voltageV, 5);
  });
});
