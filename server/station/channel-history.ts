/**
 * The recent trace of a channel's run for the HMI's chart: a bounded read from the end of the run's trace (never the
 * whole file), cut to a time window and decimated to a point budget. Decimation keeps, per bucket of consecutive
 * records, the records with the lowest and the highest voltage in time order, so pulses and step edges survive.
 */
import { readTraceTail, type TraceRecord } from "../store/trace-store.ts";
import type { ChannelHistory, ChannelHistoryQuery } from "./station-service.ts";

/** records read from the end of a trace at most, whatever the window asks */
export const MAX_HISTORY_RECORDS = 20_000;
/** points answered at most */
export const MAX_HISTORY_POINTS = 2000;

/** At most `maxPoints` records: all of them when they fit, else the voltage extremes of equal buckets (first and last kept). */
export function decimate(records: readonly TraceRecord[], maxPoints: number): TraceRecord[] {
  if (records.length <= maxPoints) return [...records];
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / 2));
  const inner = records.slice(1, -1);
  const out: TraceRecord[] = [records[0]];
  for (let b = 0; b < buckets; b++) {
    const part = inner.slice(Math.floor((b * inner.length) / buckets), Math.floor(((b + 1) * inner.length) / buckets));
    if (part.length === 0) continue;
    let lo = 0;
    let hi = 0;
    part.forEach((r, i) => {
      if (r.voltageV < part[lo].voltageV) lo = i;
      if (r.voltageV > part[hi].voltageV) hi = i;
    });
    for (const i of lo === hi ? [lo] : [Math.min(lo, hi), Math.max(lo, hi)]) out.push(part[i]);
  }
  out.push(records[records.length - 1]);
  return out;
}

export function readChannelHistory(file: string, run: { key: string; runId: string; serial: string }, query: ChannelHistoryQuery): ChannelHistory {
  const tail = readTraceTail(file, MAX_HISTORY_RECORDS);
  const lastS = tail.at(-1)?.unixTimeS ?? 0;
  const window = query.seconds === undefined ? tail : tail.filter((r) => r.unixTimeS >= lastS - query.seconds!);
  const points = decimate(window, Math.min(query.maxPoints ?? MAX_HISTORY_POINTS, MAX_HISTORY_POINTS));
  return {
    ...run,
    recordsInWindow: window.length,
    points: points.map((r) => ({ seq: r.seq.toString(), unixTimeS: r.unixTimeS, testTimeS: r.testTimeS, voltageV: r.voltageV, currentA: r.currentA, temperatureC: r.temperatureC })),
  };
}
