/**
 * A real station HTTP edge (express + socket.io on an ephemeral port) with the API router, a real auth service,
 * a real audit log in a temp folder, and the fake station. Shared by API tests and browser tests.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createApiRouter } from "../../server/api/api-router.ts";
import { startHttpServer, type HttpServerHandle } from "../../server/api/http-server.ts";
import { createAuthService, type AuthOptions, type AuthService } from "../../server/auth/auth.service.ts";
import type { Role } from "../../server/auth/permissions.ts";
import { silentLogger } from "../../server/log/logger.ts";
import { createLiveHub, type LiveHub } from "../../server/station/live-hub.ts";
import { auditFile, openAuditLog, type AuditLog } from "../../server/store/audit-log.ts";
import { createFakeStation, type FakeStation } from "./fake-station.ts";

export const ADMIN_PIN = "907531";
/** the users every harness has, with their PINs (already changed from the initial one) */
export const USERS: Record<Role, { username: string; pin: string }> = {
  operator: { username: "olga", pin: "1111" },
  supervisor: { username: "sam", pin: "2222" },
  qa: { username: "quinn", pin: "3333" },
  admin: { username: "admin", pin: "4444" },
};

export interface Harness {
  url: string;
  dataDir: string;
  station: FakeStation;
  hub: LiveHub;
  auth: AuthService;
  audit: AuditLog;
  http: HttpServerHandle;
  /** log in and return the session cookie ("name=value") */
  login(username: string, pin: string): Promise<string>;
  loginAs(role: Role): Promise<string>;
  call(method: string, apiPath: string, opts?: { cookie?: string; body?: unknown }): Promise<{ status: number; body: any; headers: Headers }>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON answers of many shapes;
  close(): Promise<void>;
}

export async function startHarness(o: { hmiDir?: string; auth?: AuthOptions; channels?: number } = {}): Promise<Harness> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "axviam-api-"));
  const recipesDir = path.join(dataDir, "config", "recipes");
  const gradingRulesDir = path.join(dataDir, "config", "grading");
  mkdirSync(recipesDir, { recursive: true });
  mkdirSync(gradingRulesDir, { recursive: true });
  cpSync(path.resolve("station-config/recipes/factory_init.yaml"), path.join(recipesDir, "factory_init.yaml"));
  cpSync(path.resolve("station-config/grading/second_life.yaml"), path.join(gradingRulesDir, "second_life.yaml"));

  const hub = createLiveHub();
  const station = createFakeStation(hub, { cyclerId: "cycler-1", channels: o.channels ?? 8 });
  const auth = await createAuthService(dataDir, { initialAdminPin: ADMIN_PIN, ...o.auth });
  await auth.changePin("admin", ADMIN_PIN, USERS.admin.pin);
  for (const role of ["operator", "supervisor", "qa"] as const) {
    const { username, pin } = USERS[role];
    await auth.createUser({ username, displayName: `${role} ${username}`, role, pin: `${pin}0` });
    await auth.changePin(username, `${pin}0`, pin);
  }
  const audit = openAuditLog(auditFile(dataDir));
  const log = silentLogger();
  const api = createApiRouter({ station, auth, audit, recipesDir, gradingRulesDir, log });
  const http = await startHttpServer({
    host: "127.0.0.1",
    port: 0,
    hmiDir: o.hmiDir ?? path.join(dataDir, "no-hmi"),
    hub,
    snapshotMeta: () => ({ stationId: "station-test", stationName: "Test station (fake equipment)", simulated: true }),
    log,
    routes: api.mount,
    socket: api.attachSocket,
  });

  const call: Harness["call"] = async (method, apiPath, { cookie, body } = {}) => {
    const res = await fetch(`${http.url}/api${apiPath}`, {
      method,
      headers: { ...(cookie ? { cookie } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // non-JSON answer: keep the text
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  const login = async (username: string, pin: string) => {
    const res = await call("POST", "/auth/login", { body: { user: username, pin } });
    if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.headers.get("set-cookie")!.split(";")[0];
  };
  return {
    url: http.url,
    dataDir,
    station,
    hub,
    auth,
    audit,
    http,
    login,
    loginAs: (role) => login(USERS[role].username, USERS[role].pin),
    call,
    async close() {
      await http.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
