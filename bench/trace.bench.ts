/**
 * Trace append throughput (`npx tsx bench/trace.bench.ts [--quick]`): records per second through
 * server/store/trace-store.ts openTrace().append(), in batches as the lot runner drains a channel (one append
 * per readRecords batch), across many run files as a 512-channel cycler would have open.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openTrace, type TraceRecord, type TraceWriter } from "../server/store/trace-store.ts";
import { emit, isQuick, type Figure } from "./support/report.ts";

const quick = isQuick();
const FILES = 512;
const RECORDS = quick ? 500_000 : 2_000_000;

function record(seq: number): TraceRecord {
  return {
    seq: BigInt(seq), unixTimeS: 1.8e9 + seq * 10, testTimeS: seq * 10, phaseIndex: 1, stepIndex: 2, cycle: 1, voltageV: 3.6 + (seq % 100) * 1e-4,
    currentA: -1.6667, temperatureC: 25.13, chargeAh: 0, dischargeAh: seq * 0.0046, chargeWh: 0, dischargeWh: seq * 0.0167, flags: 0,
  };
}

const dir = mkdtempSync(path.join(os.tmpdir(), "axviam-bench-trace-"));
try {
  const figures: Figure[] = [];
  for (const batch of [1, 10, 100]) {
    const writers: TraceWriter[] = Array.from({ length: FILES }, (_, i) => openTrace(path.join(dir, `b${batch}`, `run-${i}.csv`)));
    const next = new Array<number>(FILES).fill(1);
    const t0 = performance.now();
    for (let written = 0, f = 0; written < RECORDS; f = (f + 1) % FILES) {
      const recs = Array.from({ length: batch }, (_, j) => record(next[f] + j));
      next[f] += batch;
      written += writers[f].append(recs);
    }
    const seconds = (performance.now() - t0) / 1000;
    const bytes = writers.reduce((n, w) => n + statSync(w.file).size, 0);
    writers.forEach((w) => w.close());
    figures.push({
      bench: "trace", metric: `append, ${batch} record(s) per append over ${FILES} files`, value: RECORDS / seconds, unit: "records/s",
      note: `${RECORDS} records in ${seconds.toFixed(2)} s, ${(bytes / RECORDS).toFixed(0)} B/record on disk (BDF CSV)`,
    });
  }
  emit(figures);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
