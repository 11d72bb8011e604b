/**
 * Station state changes into the audit log: lot and run state transitions (not every progress tick) and every
 * alarm transition. The station is the actor; a user's own request is audited separately by its route.
 */
import type { StationService } from "../station/station-service.ts";
import type { AuditLog } from "../store/audit-log.ts";

export function auditStationChanges(station: StationService, audit: AuditLog): void {
  const lastLot = new Map<string, string>();
  const lastRun = new Map<string, string>();
  station.onLotChanged((lot, runs) => {
    const lotKey = `${lot.state}|${lot.phaseIndex}|${lot.phaseState}`;
    if (lastLot.get(lot.id) !== lotKey) {
      lastLot.set(lot.id, lotKey);
      audit.append({ actor: "station", action: "lot.state", target: lot.id, details: { state: lot.state, phaseIndex: lot.phaseIndex, phaseState: lot.phaseState, reason: lot.reason } });
    }
    for (const run of runs) {
      const runKey = `${run.state}|${run.phaseIndex}`;
      if (lastRun.get(run.id) === runKey) continue;
      lastRun.set(run.id, runKey);
      audit.append({ actor: "station", action: "run.state", target: run.id, details: { lotId: lot.id, serial: run.serial, channel: `${run.cyclerId}/${run.channel}`, state: run.state, phaseIndex: run.phaseIndex, reason: run.reason } });
    }
    if (lot.state === "complete" || lot.state === "aborted") {
      lastLot.delete(lot.id);
      runs.forEach((r) => lastRun.delete(r.id));
    }
  });
  station.onAlarm((a) => {
    audit.append({ actor: "station", action: "alarm.state", target: a.id, details: { source: a.source, condition: a.condition, severity: a.severity, state: a.state, message: a.message, shelved: a.shelved } });
  });
}
