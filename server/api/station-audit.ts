/**
 * Station state changes into the audit log: lot and run state transitions (not every progress tick) and every
 * alarm transition. The station is the actor; a user's own request is audited separately by its route.
 *
 * A station killed between saving a lot and auditing the change would leave that change unaudited. So at start the
 * last audited state of every unfinished lot and run is read back from the log; a lot whose state on disk differs
 * gets the missing entry, marked `recovered` (the change happened; when exactly is not known, only that it was
 * found at this start).
 */
import type { Lot, Run } from "../station/run.types.ts";
import type { StationService } from "../station/station-service.ts";
import type { Logger } from "../log/logger.ts";
import type { AuditLog } from "../store/audit-log.ts";

const FINAL = new Set(["complete", "aborted"]);
const lotKey = (d: { state?: unknown; phaseIndex?: unknown; phaseState?: unknown }) => `${String(d.state)}|${String(d.phaseIndex)}|${String(d.phaseState)}`;
const runKey = (d: { state?: unknown; phaseIndex?: unknown }) => `${String(d.state)}|${String(d.phaseIndex)}`;

/** Starts auditing; the promise settles when the start-up reconciliation is done, with the entries it recovered. */
export function auditStationChanges(station: StationService, audit: AuditLog, log: Logger): Promise<number> {
  const lastLot = new Map<string, string>();
  const lastRun = new Map<string, string>();
  // what the log already says of everything unfinished (finished lots and runs change no more)
  const audited = { lots: audit.latest("lot.state"), runs: audit.latest("run.state") };
  for (const [target, e] of audited.lots) if (!FINAL.has(String(e.details.state))) lastLot.set(target, lotKey(e.details));
  for (const [target, e] of audited.runs) if (!FINAL.has(String(e.details.state))) lastRun.set(target, runKey(e.details));

  /** audits what changed since the last entry of each; returns how many entries it wrote */
  const record = (lot: Lot, runs: Run[], extra: Record<string, unknown> = {}): number => {
    let written = 0;
    const key = lotKey(lot);
    if (lastLot.get(lot.id) !== key) {
      lastLot.set(lot.id, key);
      audit.append({ actor: "station", action: "lot.state", target: lot.id, details: { state: lot.state, phaseIndex: lot.phaseIndex, phaseState: lot.phaseState, reason: lot.reason, ...extra } });
      written++;
    }
    for (const run of runs) {
      const k = runKey(run);
      if (lastRun.get(run.id) === k) continue;
      lastRun.set(run.id, k);
      audit.append({ actor: "station", action: "run.state", target: run.id, details: { lotId: lot.id, serial: run.serial, channel: `${run.cyclerId}/${run.channel}`, state: run.state, phaseIndex: run.phaseIndex, reason: run.reason, ...extra } });
      written++;
    }
    if (FINAL.has(lot.state)) {
      lastLot.delete(lot.id);
      runs.forEach((r) => lastRun.delete(r.id));
    }
    return written;
  };
  station.onLotChanged((lot, runs) => void record(lot, runs));
  station.onAlarm((a) => {
    audit.append({ actor: "station", action: "alarm.state", target: a.id, details: { source: a.source, condition: a.condition, severity: a.severity, state: a.state, message: a.message, shelved: a.shelved } });
  });

  const reconcile = async () => {
    let recovered = 0;
    for (const summary of await station.listLots()) {
      const last = audited.lots.get(summary.id);
      // settled: its final state is audited (or it ended before this log knew it)
      if (last ? FINAL.has(String(last.details.state)) : FINAL.has(summary.state)) continue;
      const { lot, runs } = await station.lot(summary.id);
      recovered += record(lot, runs, { recovered: "found at station start; the change was not audited before the station stopped" });
    }
    if (recovered > 0) log.warn({ recovered }, "audit: state changes found on disk that the log missed (station stopped in between) were recorded");
    return recovered;
  };
  return reconcile().catch((err: Error) => {
    log.error({ err: err.message }, "audit: start-up reconciliation failed; changes from before the stop may be missing from the log");
    return 0;
  });
}
