/**
 * Access control of the real station, route by route and event by event. The list of endpoints is generated from
 * what the code mounts (the API router and the certificate router) and must match the OpenAPI document, so a new
 * route is swept automatically — and a route missing from OpenAPI fails here before it can be forgotten.
 * Expected roles come from OpenAPI's x-roles (= server/auth/permissions.ts); the public set is written out below.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiRouter } from "../../server/api/api-router.ts";
import { certificateRoutes } from "../../server/api/certificates.routes.ts";
import { plantProxyRoutes } from "../../server/plant/plant-proxy.routes.ts";
import { SOCKET_EVENT_PERMISSIONS } from "../../server/api/live-socket.ts";
import { ROLES, can, type Role } from "../../server/auth/permissions.ts";
import { silentLogger } from "../../server/log/logger.ts";
import { startHarness, type Harness } from "../api/api-harness.ts";
import { startSecurityStation, type SecurityStation } from "./security-station.ts";

/** Endpoints anyone may call without a session; every other one must answer 401. */
const PUBLIC = [
  "get /openapi.json",
  "get /health",
  "post /auth/login",
  "post /auth/logout",
  "get /certificates/public-key",
  "post /certificates/verify",
].sort();

/** Values for path parameters: well-formed, but naming nothing that exists, so no allowed call changes anything. */
const PARAMS: Record<string, string> = {
  lotId: "20260101-0badc0de",
  id: "00000000-0000-4000-8000-000000000000",
  serial: "TST-NOPE-1",
  name: "factory_init",
  version: "1.0.0",
  username: "nobody-here",
  cyclerId: "cycler-1",
  channel: "1",
};

interface Endpoint {
  method: string;
  /** OpenAPI form: /lots/{lotId} */
  path: string;
}

type Layer = { route?: { path: string; methods: Record<string, boolean> } };
const routesOf = (stack: Layer[], strip = ""): Endpoint[] =>
  stack
    .filter((l) => l.route)
    .flatMap((l) =>
      Object.keys(l.route!.methods)
        .filter((m) => m !== "_all")
        .map((method) => ({ method, path: l.route!.path.slice(strip.length).replace(/:(\w+)/g, "{$1}") })),
    );
const key = (e: Endpoint) => `${e.method} ${e.path}`;
const concrete = (p: string) => `/api${p.replace(/\{(\w+)\}/g, (_, name: string) => PARAMS[name])}`;

let s: SecurityStation;
let harness: Harness;
let mounted: Endpoint[];
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the OpenAPI document as served
let openApi: { paths: Record<string, Record<string, any>> };
let cookies: Record<Role, string>;

beforeAll(async () => {
  s = await startSecurityStation();
  // The same router code as the station mounts, built over the fake station only to read its route table.
  harness = await startHarness();
  const { router } = createApiRouter({ station: harness.station, auth: harness.auth, audit: harness.audit, recipesDir: harness.dataDir, gradingRulesDir: harness.dataDir, log: silentLogger() });
  mounted = [
    ...routesOf(router.stack as Layer[]),
    ...routesOf(certificateRoutes({ issuer: s.station.certificates }).stack as Layer[], "/api"),
    ...routesOf(plantProxyRoutes({ config: undefined, requireRole: () => (_req, _res, next) => next(), log: silentLogger() }).stack as Layer[], "/api"),
    // served by the HTTP edge itself (server/api/http-server.ts)
    { method: "get", path: "/health" },
    { method: "get", path: "/channels" },
  ];
  openApi = (await s.raw("GET", "/api/openapi.json")).json;
  cookies = Object.fromEntries(await Promise.all(ROLES.map(async (r) => [r, await s.loginAs(r)] as const))) as Record<Role, string>;
}, 60_000);
afterAll(async () => {
  await harness?.close();
  await s?.close();
});

describe("the endpoint list", () => {
  it("is complete: every mounted route is in OpenAPI and every OpenAPI operation is mounted", () => {
    expect(mounted.length).toBeGreaterThan(40);
    const described = Object.entries(openApi.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    expect(mounted.map(key).sort()).toEqual([...new Set(described)].sort());
  });

  it("documents access truthfully: public operations have no security, the others name their roles", () => {
    for (const e of mounted) {
      const op = openApi.paths[e.path][e.method];
      if (PUBLIC.includes(key(e))) expect(op.security, key(e)).toEqual([]);
      else expect(op.security, key(e)).toEqual([{ session: [] }]);
    }
  });
});

describe("REST without a session", () => {
  it("answers 401 on every endpoint except the public ones", async () => {
    const open: string[] = [];
    for (const e of mounted) {
      const res = await s.raw(e.method.toUpperCase(), concrete(e.path), { body: e.method === "get" ? undefined : {} });
      if (res.status !== 401) open.push(key(e));
      else expect(res.json, key(e)).toEqual({ error: "not signed in" });
    }
    expect(open.sort()).toEqual(PUBLIC);
  }, 60_000);

  it("does not accept a forged, empty or stale session cookie", async () => {
    const stale = await s.loginAs("admin");
    await s.raw("POST", "/api/auth/logout", { cookie: stale });
    for (const cookie of [stale, "axviam_session=", "axviam_session=admin", `axviam_session=${"A".repeat(43)}`, "axviam_session=%00"]) {
      expect((await s.raw("GET", "/api/users", { cookie })).status, cookie).toBe(401);
    }
  });
});

describe("REST with the wrong role", () => {
  it("answers 403 for every role the operation does not list, and lets the listed roles through", async () => {
    const wrong: string[] = [];
    for (const e of mounted.filter((x) => !PUBLIC.includes(key(x)))) {
      const op = openApi.paths[e.path][e.method];
      const roles: readonly Role[] = op["x-roles"] ?? ROLES; // no x-roles: any signed-in role (auth/session, change-pin)
      if (e.path === "/auth/change-pin") continue; // a valid body would change the PIN; covered by the sessions tests
      for (const role of ROLES) {
        const res = await s.raw(e.method.toUpperCase(), concrete(e.path), { cookie: cookies[role], body: e.method === "get" ? undefined : {} });
        const refused = res.status === 403 || res.status === 401;
        if (roles.includes(role) === refused) wrong.push(`${role} ${key(e)} → ${res.status}`);
        if (res.status === 403) expect(res.json.error, `${role} ${key(e)}`).toMatch(new RegExp(`role ${role} may not`));
      }
    }
    expect(wrong).toEqual([]);
  }, 90_000);

  it("the live channel list needs a session now that the auth API is mounted", async () => {
    expect((await s.raw("GET", "/api/channels")).status).toBe(401);
    const res = await s.raw("GET", "/api/channels", { cookie: cookies.qa });
    expect(res.status).toBe(200);
    expect(res.json.map((c: { key: string }) => c.key)).toEqual(["cycler-1/1", "cycler-1/2", "cycler-1/3", "cycler-1/4"]);
  });
});

describe("socket events", () => {
  it("every client event the server listens to has a permission", async () => {
    const admin = await harness.loginAs("admin");
    const { io: connect } = await import("socket.io-client");
    const client = connect(harness.url, { transports: ["websocket"], extraHeaders: { cookie: admin }, reconnection: false });
    await new Promise<void>((resolve) => client.once("connect", () => resolve()));
    const serverSide = [...harness.http.io.sockets.sockets.values()][0];
    const events = serverSide.eventNames().map(String).filter((e) => !["disconnect", "disconnecting", "error"].includes(e));
    client.close();
    expect(events.sort()).toEqual(Object.keys(SOCKET_EVENT_PERMISSIONS).sort());
  });

  it("refuses a handshake without a live session", async () => {
    for (const cookie of [undefined, "axviam_session=forged"]) {
      const sock = s.socket(cookie);
      const err = await new Promise<Error>((resolve) => sock.once("connect_error", resolve));
      expect(err.message).toBe("unauthenticated");
    }
  });

  it("checks each role on every event: the refused get 403, the allowed reach the station", async () => {
    for (const role of ROLES) {
      const sock = s.socket(cookies[role]);
      await new Promise<void>((resolve, reject) => (sock.once("connect", () => resolve()), sock.once("connect_error", reject)));
      const ack = await sock.timeout(5000).emitWithAck("alarm.acknowledge", "no-such-alarm");
      if (can(role, SOCKET_EVENT_PERMISSIONS["alarm.acknowledge"])) expect(ack, role).toMatchObject({ ok: false, status: 404 });
      else expect(ack, role).toEqual({ ok: false, status: 403, error: `role ${role} may not alarm.acknowledge` });
      const snapshot = new Promise((resolve) => sock.once("alarms.snapshot", resolve));
      sock.emit("live.join", {});
      expect(await snapshot, role).toEqual([]); // every role may read (station.read), and no alarm is active
      sock.close();
    }
  });
});
