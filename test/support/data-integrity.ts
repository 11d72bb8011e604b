/**
 * Checks of a station's data folder against the equipment's own log, shared by the fault tests: is every record the
 * cycler logged in the run's trace exactly once and in order, and does every JSON file on disk still parse.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { ChannelRecord } from "../../server/domain/equipment/channel.ts";
import { readTrace, type TraceRecord } from "../../server/store/trace-store.ts";

export interface TraceAccount {
  records: TraceRecord[];
  /** seqs that appear more than once in the trace */
  duplicates: bigint[];
  /** holes between consecutive trace records: [after, next] */
  gaps: [bigint, bigint][];
  /** trace records whose seq, time or values differ from the cycler's record of the same seq (or it has none) */
  foreign: bigint[];
  /** the cycler's records (in the compared window) that the trace does not hold */
  missing: bigint[];
}

/**
 * Compares a run's trace with the records the cycler logged for it (`logged`: oldest first, the run's window).
 * A record is the same when seq, test time, voltage, current and phase-independent counters agree to the trace's
 * printed precision — the trace is the cycler's record, not a re-sampling of it.
 */
export function accountTrace(traceFile: string, logged: readonly ChannelRecord[]): TraceAccount {
  const records = readTrace(traceFile);
  const bySeq = new Map(logged.map((r) => [r.seq, r]));
  const seen = new Set<bigint>();
  const account: TraceAccount = { records, duplicates: [], gaps: [], foreign: [], missing: [] };
  records.forEach((r, i) => {
    if (seen.has(r.seq)) account.duplicates.push(r.seq);
    seen.add(r.seq);
    if (i > 0 && r.seq !== records[i - 1].seq + 1n) account.gaps.push([records[i - 1].seq, r.seq]);
    const own = bySeq.get(r.seq);
    const same = own !== undefined && Math.abs(own.testTimeS - r.testTimeS) < 1e-3 && Math.abs(own.voltageV - r.voltageV) < 1e-5 && Math.abs(own.currentA - r.currentA) < 1e-5 && own.stepIndex === r.stepIndex;
    if (!same) account.foreign.push(r.seq);
  });
  for (const r of logged) if (!seen.has(r.seq)) account.missing.push(r.seq);
  return account;
}

/** Every file below dir, relative paths, depth first. */
export function walkFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = path.join(rel, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) out.push(p);
    }
  };
  visit("");
  return out.sort();
}

/** JSON files below dir that do not parse, each with the parser's complaint; [] when all parse. */
export function unparsableJsonFiles(dir: string): string[] {
  const bad: string[] = [];
  for (const f of walkFiles(dir).filter((x) => x.endsWith(".json"))) {
    try {
      JSON.parse(readFileSync(path.join(dir, f), "utf8"));
    } catch (e) {
      bad.push(`${f}: ${(e as Error).message}`);
    }
  }
  return bad;
}
