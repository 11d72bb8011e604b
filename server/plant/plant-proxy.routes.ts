/**
 * The HMI's plant scope through its own station: the station forwards read-only plant queries of signed-in users
 * whose role holds plant.read to the plant service (station-config `plant.service`). So the browser talks to one
 * origin (no CORS, the session cookie is the only credential), roles are enforced by the station like every other
 * read, and the plant API itself may demand a token only stations hold.
 *   GET /api/plant/health | stations | yield?line=&since= | throughput?line=&hours=&until= | cells/:serial
 * Answers are the plant service's, passed through; when it cannot answer: 502 (unreachable, refused the token,
 * answered garbage), 504 (too slow), 503 (this station has no plant service configured).
 * Mount before the API router (it answers every other /api path):
 *   app.use(plantProxyRoutes({ config: cfg.plant.service, requireRole: sessionRoles(auth), ... }))
 */
import express, { type RequestHandler, type Response, type Router } from "express";
import { PERMISSIONS, type Role } from "../auth/permissions.ts";
import type { PlantConfig } from "../config/station-config.schema.ts";
import type { Logger } from "../log/logger.ts";
import { serialSchema } from "../api/lots.routes.ts";
import { readSecret } from "./plant-secrets.ts";

export interface PlantProxyDeps {
  /** the station config's plant.service; undefined: this station shows no plant (503 with the reason) */
  config: PlantConfig["service"];
  /** middleware admitting only these roles (401 without a session, 403 for another role) */
  requireRole: (roles: readonly Role[]) => RequestHandler;
  log: Logger;
  /** folder a relative tokenFile resolves against (the station config's) */
  configDir?: string;
  env?: NodeJS.ProcessEnv;
}

/** query parameters the plant API knows; anything else is not forwarded */
const FORWARDED_QUERY = ["line", "since", "hours", "until"];

export function plantProxyRoutes(deps: PlantProxyDeps): Router {
  const r = express.Router();
  const plog = deps.log.child({ part: "plant-proxy" });
  const cfg = deps.config;
  // read once at start: a missing secret file or variable fails the start with the field's name
  const token = cfg && readSecret("plant.service.token", { inline: cfg.token, file: cfg.tokenFile, env: cfg.tokenEnv }, { baseDir: deps.configDir, env: deps.env, warn: (m) => plog.warn(m) });
  const base = cfg?.url.replace(/\/+$/, "");

  const forward = async (res: Response, pathAndQuery: string) => {
    if (!cfg || !base) return void res.status(503).json({ error: "this station has no plant service configured (plant.service.url in its station config)" });
    let upstream: globalThis.Response;
    try {
      upstream = await fetch(`${base}${pathAndQuery}`, {
        headers: { accept: "application/json", ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
        signal: AbortSignal.timeout(cfg.timeoutMs),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === "TimeoutError") return void res.status(504).json({ error: `plant service ${base} did not answer within ${cfg.timeoutMs} ms` });
      const why = err.cause?.code ?? err.cause?.message ?? err.message;
      plog.warn({ plant: base, err: why }, "plant service unreachable");
      return void res.status(502).json({ error: `plant service ${base} unreachable: ${why}` });
    }
    if (upstream.status === 401) {
      plog.error({ plant: base }, "the plant service refused this station's token");
      return void res.status(502).json({ error: `plant service ${base} refused this station's token (plant.service.token / tokenFile / tokenEnv)` });
    }
    const text = await upstream.text();
    try {
      res.status(upstream.status).json(JSON.parse(text));
    } catch {
      res.status(502).json({ error: `plant service ${base} answered HTTP ${upstream.status} without JSON` });
    }
  };

  const gate = deps.requireRole(PERMISSIONS["plant.read"]);
  const query = (q: Record<string, unknown>) => {
    const params = new URLSearchParams();
    for (const k of FORWARDED_QUERY) if (typeof q[k] === "string") params.set(k, q[k]);
    const s = params.toString();
    return s ? `?${s}` : "";
  };
  for (const name of ["health", "stations", "yield", "throughput"]) {
    r.get(`/api/plant/${name}`, gate, (req, res) => forward(res, `/api/plant/${name}${query(req.query)}`));
  }
  r.get("/api/plant/cells/:serial", gate, (req, res) => {
    const serial = String(req.params.serial);
    const checked = serialSchema.safeParse(serial);
    if (!checked.success) return void res.status(400).json({ error: `serial ${JSON.stringify(serial)}: ${checked.error.issues[0].message}` });
    return forward(res, `/api/plant/cells/${encodeURIComponent(serial)}`);
  });
  return r;
}
