/** Browse and verify the hash-chained audit log. */
import type { Router } from "express";
import { z } from "zod";
import { verifyAuditLog } from "../store/audit-log.ts";
import { allow, validate, type ApiDeps } from "./api-context.ts";

export const auditQuerySchema = z
  .object({
    actor: z.string().max(64).optional(),
    action: z.string().max(64).optional(),
    target: z.string().max(128).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(5000).optional(),
  })
  .strict();

export function auditRoutes(r: Router, { audit }: ApiDeps): void {
  r.get("/audit", allow("audit.read"), (req, res) => {
    const q = validate(auditQuerySchema, req.query, "query");
    res.json(audit.query({ actor: q.actor, action: q.action, target: q.target, sinceIso: q.since && new Date(q.since).toISOString(), untilIso: q.until && new Date(q.until).toISOString(), limit: q.limit }));
  });
  r.get("/audit/verify", allow("audit.read"), (_req, res) => {
    res.json(verifyAuditLog(audit.file));
  });
}
