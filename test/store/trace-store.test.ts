/** Following a trace in bounded reads: whole lines only, no record lost or read twice across the pieces. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openTrace, readTrace, readTraceFrom, type TraceRecord } from "../../server/store/trace-store.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "axviam-trace-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const record = (seq: number): TraceRecord => ({
  seq: BigInt(seq), unixTimeS: 1.7e9 + seq, testTimeS: seq, phaseIndex: 0, stepIndex: 1, cycle: 0,
  voltageV: 3.6 + seq * 1e-5, currentA: -1.25, temperatureC: 25, chargeAh: 0, dischargeAh: seq / 3600, chargeWh: 0, dischargeWh: seq / 1000, flags: 0,
});

describe("readTraceFrom with a byte budget", () => {
  it("returns whole records up to the budget and continues where it stopped until the trace is read", () => {
    const file = path.join(dir, "run-1.csv");
    const trace = openTrace(file);
    trace.append(Array.from({ length: 500 }, (_, i) => record(i + 1)));
    trace.close();
    const all = readTrace(file);
    expect(all.length).toBe(500);

    const pieces: TraceRecord[][] = [];
    let offset = 0;
    for (let i = 0; i < 1000; i++) {
      const { records, nextOffset } = readTraceFrom(file, offset, 4096);
      if (records.length === 0) break;
      expect(nextOffset - offset).toBeLessThanOrEqual(4096 + 200); // the header is skipped on the first read
      pieces.push(records);
      offset = nextOffset;
    }
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.flat()).toEqual(all);
    // nothing more once caught up; records appended later are found from the same offset
    expect(readTraceFrom(file, offset, 4096).records).toEqual([]);
    const again = openTrace(file);
    again.append([record(501)]);
    again.close();
    expect(readTraceFrom(file, offset, 4096).records.map((r) => r.seq)).toEqual([501n]);
  });
});
