/**
 * Read-only plant REST API for the plant scope of the HMI and for line supervisors' tools:
 *   GET /api/plant/health                     broker and database link of the plant service
 *   GET /api/plant/stations                   every station's latest status, grades in the last 24 h
 *   GET /api/plant/yield?line=&since=         graded / passed / yield and bin or route counts per line and kind
 *   GET /api/plant/throughput?line=&hours=&until=   cells graded per station (and per hour) in the window
 *   GET /api/plant/cells/:serial              one cell's grades across every station, oldest first
 */
import type { Express, NextFunction, Request, Response } from "express";
import type { TopicKind } from "./plant-messages.ts";
import type { PlantStore } from "./plant-store.ts";

export interface PlantHealth {
  broker: { connected: boolean; error?: string };
  database: { ok: boolean; error?: string };
  /** messages written since start, per topic kind (redeliveries count again); messages refused as invalid */
  written: Partial<Record<TopicKind, number>>;
  rejected: number;
}

class BadRequest extends Error {}

function optionalDate(name: string, v: unknown): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(String(v));
  if (typeof v !== "string" || Number.isNaN(d.getTime())) throw new BadRequest(`${name} must be an ISO 8601 date-time, got ${JSON.stringify(v)}`);
  return d;
}
function optionalLine(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(v)) throw new BadRequest(`line must be a line id, got ${JSON.stringify(v)}`);
  return v;
}

export function mountPlantApi(app: Express, store: PlantStore, health: () => PlantHealth, corsOrigin: string): void {
  app.use("/api/plant", (_req, res, next) => {
    res.setHeader("Access-Control-Allow-Origin", corsOrigin);
    res.setHeader("Vary", "Origin");
    next();
  });
  app.get("/api/plant/health", (_req, res) => {
    const h = health();
    res.status(h.database.ok ? 200 : 503).json(h);
  });
  app.get("/api/plant/stations", async (_req, res) => {
    res.json(await store.stations());
  });
  app.get("/api/plant/yield", async (req, res) => {
    res.json(await store.yield({ lineId: optionalLine(req.query.line), since: optionalDate("since", req.query.since) }));
  });
  app.get("/api/plant/throughput", async (req, res) => {
    const hours = req.query.hours === undefined ? 24 : Number(req.query.hours);
    if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 366) throw new BadRequest(`hours must be an integer 1..${24 * 366}, got ${JSON.stringify(req.query.hours)}`);
    res.json(await store.throughput({ lineId: optionalLine(req.query.line), hours, until: optionalDate("until", req.query.until) ?? new Date() }));
  });
  app.get("/api/plant/cells/:serial", async (req, res) => {
    const cell = await store.cell(String(req.params.serial));
    if (!cell) res.status(404).json({ error: `no grade of cell ${req.params.serial} anywhere in the plant` });
    else res.json(cell);
  });
  app.use("/api/plant", (_req, res) => {
    res.status(404).json({ error: "no such plant endpoint" });
  });
  app.use((err: Error, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err instanceof BadRequest) res.status(400).json({ error: err.message });
    else res.status(503).json({ error: `plant database: ${err.message}` });
  });
}
