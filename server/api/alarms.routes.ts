/** ISA-18.2 alarms: active list, history, acknowledge, shelve. */
import type { Router } from "express";
import { z } from "zod";
import type { SessionUser } from "../auth/auth.service.ts";
import type { StationService } from "../station/station-service.ts";
import type { AuditLog } from "../store/audit-log.ts";
import { actor, allow, validate, type ApiDeps } from "./api-context.ts";

const idParam = z.object({ id: z.string().min(1).max(64) });
const historyQuery = z.object({ limit: z.coerce.number().int().min(1).max(5000).optional() });
export const shelveSchema = z
  .object({
    reason: z.string().trim().min(1, "shelving needs a reason").max(500),
    untilIso: z.iso.datetime({ offset: true }).refine((t) => Date.parse(t) > Date.now(), "the expiry must be in the future"),
  })
  .strict();

/** Shared by REST and the socket event so both paths audit the same way. */
export function acknowledgeAlarm(station: StationService, audit: AuditLog, user: SessionUser, id: string) {
  const alarm = station.alarms.acknowledge(id, user.username);
  audit.append({ actor: user.username, action: "alarm.acknowledge", target: id, details: { source: alarm.source, condition: alarm.condition } });
  return alarm;
}

export function alarmRoutes(r: Router, { station, audit }: ApiDeps): void {
  r.get("/alarms", allow("station.read"), (_req, res) => {
    res.json(station.alarms.active());
  });
  r.get("/alarms/history", allow("station.read"), (req, res) => {
    const { limit } = validate(historyQuery, req.query, "query");
    res.json(station.alarms.history(limit));
  });
  r.post("/alarms/:id/acknowledge", allow("alarm.acknowledge"), (req, res) => {
    const { id } = validate(idParam, req.params, "params");
    res.json(acknowledgeAlarm(station, audit, actor(res), id));
  });
  r.post("/alarms/:id/shelve", allow("alarm.shelve"), (req, res) => {
    const { id } = validate(idParam, req.params, "params");
    const { reason, untilIso } = validate(shelveSchema, req.body);
    const alarm = station.alarms.shelve(id, actor(res).username, reason, untilIso);
    audit.append({ actor: actor(res).username, action: "alarm.shelve", target: id, details: { reason, untilIso, source: alarm.source } });
    res.json(alarm);
  });
}
