/**
 * The real station (embedded simulators, drivers, auth, audit, certificates) for the security tests, with one user
 * per role, a login helper that returns the session cookie, and a raw HTTP helper that sends exactly what it is
 * given (paths are not normalised, bodies not re-encoded), so hostile input reaches the server as an attacker sends it.
 */
import { request } from "node:http";
import { io as connect, type Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "../../server/api/events.ts";
import type { AuthOptions } from "../../server/auth/auth.service.ts";
import type { Role } from "../../server/auth/permissions.ts";
import { startTestStation, type TestStation, type TestStationOptions } from "../support/station.ts";

export const INITIAL_ADMIN_PIN = "614203";
/** one user per role, PINs already changed from the initial one */
export const USERS: Record<Role, { username: string; pin: string }> = {
  operator: { username: "olga", pin: "1111" },
  supervisor: { username: "sam", pin: "2222" },
  qa: { username: "quinn", pin: "3333" },
  admin: { username: "admin", pin: "4444" },
};

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of many shapes
  json: any;
}

export interface SecurityStation {
  station: TestStation;
  /** log in and return the session cookie ("axviam_session=…") */
  login(username: string, pin: string, cookie?: string): Promise<string>;
  loginAs(role: Role): Promise<string>;
  /** one HTTP request, path sent verbatim; body: string/Buffer as is, anything else as JSON */
  raw(method: string, rawPath: string, o?: { cookie?: string; body?: unknown; contentType?: string }): Promise<RawResponse>;
  socket(cookie?: string): Socket<ServerToClientEvents, ClientToServerEvents>;
  close(): Promise<void>;
}

/**
 * Without `chamber` the station has one Modbus cycler and no chamber: no OPC UA certificates to generate, so it
 * starts in about a second. Lots need a chamber (every recipe sets chamber temperatures): pass `chamber: true`.
 */
export async function startSecurityStation(o: { auth?: AuthOptions; chamber?: boolean; station?: TestStationOptions } = {}): Promise<SecurityStation> {
  const equipmentOnly: TestStationOptions["config"] = {
    simulators: { enabled: true, clock: { speed: 600 }, cyclers: [{ id: "sim-cycler", protocol: "modbus", port: 0, channels: 4, watchdogMs: 0, population: { seed: 7, serialPrefix: "TST" } }] },
    equipment: { cyclers: [{ id: "cycler-1", protocol: "modbus", simulator: "sim-cycler", channels: 4, pollIntervalMs: 200, heartbeatIntervalMs: 500 }] },
  };
  const station = await startTestStation({
    channels: 4,
    ...(o.chamber ? {} : { config: equipmentOnly }),
    ...o.station,
    overrides: { simSpeed: 600, ...o.station?.overrides, auth: { initialAdminPin: INITIAL_ADMIN_PIN, ...o.auth } },
  });
  const { auth } = station;
  await auth.changePin("admin", INITIAL_ADMIN_PIN, USERS.admin.pin);
  for (const role of ["operator", "supervisor", "qa"] as const) {
    const { username, pin } = USERS[role];
    await auth.createUser({ username, displayName: `${role} ${username}`, role, pin: `${pin}0` });
    await auth.changePin(username, `${pin}0`, pin);
  }
  const sockets: Socket[] = [];

  const raw: SecurityStation["raw"] = (method, rawPath, { cookie, body, contentType } = {}) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      const headers: Record<string, string | number> = {};
      if (cookie) headers.cookie = cookie;
      if (payload !== undefined) {
        headers["content-type"] = contentType ?? "application/json";
        headers["content-length"] = Buffer.byteLength(payload);
      }
      const req = request({ host: "127.0.0.1", port: station.port, method, path: rawPath, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on("error", reject);
      req.end(payload);
    });

  const login: SecurityStation["login"] = async (username, pin, cookie) => {
    const res = await raw("POST", "/api/auth/login", { body: { user: username, pin }, cookie });
    if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${res.text}`);
    const set = res.headers["set-cookie"];
    return String(Array.isArray(set) ? set[0] : set).split(";")[0];
  };

  return {
    station,
    login,
    loginAs: (role) => login(USERS[role].username, USERS[role].pin),
    raw,
    socket(cookie) {
      const s: Socket<ServerToClientEvents, ClientToServerEvents> = connect(station.url, { transports: ["websocket"], extraHeaders: cookie ? { cookie } : {}, reconnection: false });
      sockets.push(s);
      return s;
    },
    async close() {
      for (const s of sockets) s.close();
      await station.close();
    },
  };
}
