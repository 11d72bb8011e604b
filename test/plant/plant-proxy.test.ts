/**
 * The station's plant proxy when the plant service cannot answer: each failure is a specific status and a message
 * naming the plant service, and the station's own API keeps working (the proxy is only one router). Roles are
 * covered in real Chromium by test/e2e/plant-view.test.ts; here a stub admits every request.
 */
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../server/log/logger.ts";
import { plantProxyRoutes, type PlantProxyDeps } from "../../server/plant/plant-proxy.routes.ts";
import { freePort } from "./services.ts";

const servers: Server[] = [];
const listen = async (app: RequestListener) => {
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function station(config: PlantProxyDeps["config"]): Promise<string> {
  const app = express();
  app.use(plantProxyRoutes({ config, requireRole: () => (_req, _res, next) => next(), log: silentLogger() }));
  app.get("/api/health", (_req, res) => void res.json({ ok: true }));
  return listen(app);
}
const get = async (url: string) => {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as { error?: string } };
};

describe("plant proxy failures", () => {
  let hung: string;
  let tokenChecking: string;
  beforeAll(async () => {
    // accepts the connection, never answers
    hung = await listen(() => undefined);
    tokenChecking = await listen((req, res) => {
      const ok = req.headers.authorization === "Bearer right";
      res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
      res.end(ok ? "[]" : '{"error":"token"}');
    });
  });

  it("no plant service configured: 503 saying so", async () => {
    expect(await get(`${await station(undefined)}/api/plant/stations`)).toEqual({ status: 503, body: { error: "this station has no plant service configured (plant.service.url in its station config)" } });
  });

  it("unreachable: 502 naming the plant service and the cause; the station's own API still answers", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const url = await station({ url: dead, timeoutMs: 2000 });
    expect(await get(`${url}/api/plant/yield?line=line-1`)).toEqual({ status: 502, body: { error: `plant service ${dead} unreachable: ECONNREFUSED` } });
    expect((await get(`${url}/api/health`)).status).toBe(200);
  });

  it("too slow: 504 after plant.service.timeoutMs", async () => {
    const t0 = Date.now();
    expect(await get(`${await station({ url: hung, timeoutMs: 300 })}/api/plant/stations`)).toEqual({ status: 504, body: { error: `plant service ${hung} did not answer within 300 ms` } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it("a token the plant service refuses is the station's configuration problem (502), not the user's session (401)", async () => {
    expect(await get(`${await station({ url: tokenChecking, token: "wrong", timeoutMs: 2000 })}/api/plant/stations`)).toEqual({
      status: 502, body: { error: `plant service ${tokenChecking} refused this station's token (plant.service.token / tokenFile / tokenEnv)` },
    });
    expect(await get(`${await station({ url: tokenChecking, token: "right", timeoutMs: 2000 })}/api/plant/stations`)).toEqual({ status: 200, body: [] });
  });
});
