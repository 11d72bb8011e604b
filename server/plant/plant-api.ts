/**
 * Read-only plant REST API for the plant scope of the HMI and for line supervisors' tools:
 *   GET /api/plant/health                     broker and database link of the plant service (no token needed)
 *   GET /api/plant/stations                   every station's latest status, grades in the last 24 h
 *   GET /api/plant/yield?line=&since=         graded / passed / yield and bin or route counts per line and kind
 *   GET /api/plant/throughput?line=&hours=&until=   cells graded per station (and per hour) in the window
 *   GET /api/plant/cells/:serial              one cell's grades across every station, oldest first
 * With http.token set, every query but /health needs that bearer token: the plant API is then open only to the
 * stations, which forward their signed-in users' plant queries (server/plant/plant-proxy.routes.ts) and enforce
 * the roles; a browser never calls it directly.
 */
import { timingSafeEqual } from "node:crypto";
import type { Express, NextFunction, Request, Response } from "express";
import type { TopicKind } from "./plant-messages.ts";
import type { PlantStore } from "./plant-store.ts";

export interface PlantHealth {
  broker: { connected: boolean; error?: string };
  /** the broker confirmed the service's subscriptions to the stations' topics (SUBACK); false again after a broker lost its session */
  subscribed: boolean;
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

export interface PlantApiOptions {
  /** origin a browser may call the API from; none by default (station HMIs reach it through their station) */
  corsOrigin?: string;
  /** when set, every endpoint but /health needs `Authorization: Bearer <token>` */
  token?: string;
}

/** Constant-time comparison, so response timing does not reveal how much of a guessed token was right. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(header ?? "")?.[1] ?? "");
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export function mountPlantApi(app: Express, store: PlantStore, health: () => PlantHealth, o: PlantApiOptions = {}): void {
  if (o.corsOrigin !== undefined) {
    const origin = o.corsOrigin;
    app.use("/api/plant", (_req, res, next) => {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Vary", "Origin");
      next();
    });
  }
  app.get("/api/plant/health", (_req, res) => {
    const h = health();
    res.status(h.database.ok ? 200 : 503).json(h);
  });
  if (o.token !== undefined) {
    const token = o.token;
    app.use("/api/plant", (req, res, next) => {
      if (bearerMatches(req.headers.authorization, token)) return next();
      res.setHeader("WWW-Authenticate", 'Bearer realm="axviam-plant"');
      res.status(401).json({ error: "plant API token missing or wrong (Authorization: Bearer <plant http.token>)" });
    });
  }
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
