/**
 * socket.io side of the API: every socket is authenticated from the session cookie in its handshake; on join it
 * gets the lots and active alarms as snapshots, then `lot.updated` / `alarm.changed` deltas; request events are
 * checked against the role like REST calls; sockets whose session ends are told and disconnected.
 */
import type { Server as IoServer, Socket } from "socket.io";
import type { AuthService, SessionUser } from "../auth/auth.service.ts";
import type { Logger } from "../log/logger.ts";
import { can, type Permission } from "../auth/permissions.ts";
import { AlarmNotFoundError } from "../station/alarms.ts";
import type { StationService } from "../station/station-service.ts";
import type { AuditLog } from "../store/audit-log.ts";
import { acknowledgeAlarm } from "./alarms.routes.ts";
import { readCookie, SESSION_COOKIE } from "./api-context.ts";
import { LIVE_COALESCE_MS, type ClientToServerEvents, type LotUpdate, type ServerToClientEvents } from "./events.ts";

type Io = IoServer<ClientToServerEvents, ServerToClientEvents>;
type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/**
 * What each client event needs, like the REST routes' permissions; typed over every client event, so a new event
 * cannot be added without deciding who may send it (test/security checks each one against each role).
 */
export const SOCKET_EVENT_PERMISSIONS: Record<keyof ClientToServerEvents, Permission> = {
  "live.join": "station.read",
  "live.visible": "station.read",
  "alarm.acknowledge": "alarm.acknowledge",
};

/** most channel keys a client may declare visible (a station's whole equipment fits) */
const MAX_VISIBLE = 16_384;
/** how often sockets are checked for expired sessions [ms] */
const SESSION_SWEEP_MS = 30_000;

export interface LiveSocketControl {
  /** end every socket of this session token (logout) */
  endToken(token: string, reason: string): void;
  /** end every socket of this user (disabled, PIN reset) */
  endUser(username: string, reason: string): void;
}

export function attachLiveSocket(io: Io, deps: { station: StationService; auth: AuthService; audit: AuditLog; log: Logger }): LiveSocketControl {
  const { station, auth, audit, log } = deps;
  const tokenOf = (s: LiveSocket) => s.data.token as string;
  const end = (s: LiveSocket, reason: string) => {
    s.emit("session.ended", reason);
    s.disconnect(true);
  };

  // Lots snapshot, then the runs of every lot still going as `lot.updated`, so tiles can be tied to their lots.
  const sendLots = async (socket: LiveSocket) => {
    try {
      const lots = await station.listLots();
      socket.emit("lots.snapshot", lots);
      for (const lot of lots.filter((l) => l.state === "execute" || l.state === "held")) {
        const detail = await station.lot(lot.id);
        socket.emit("lot.updated", { lot: detail.lot, runs: detail.runs });
      }
    } catch (err) {
      log.warn({ err }, "lots snapshot for a live client failed");
    }
  };

  io.use((socket, next) => {
    const token = readCookie(socket.handshake.headers.cookie, SESSION_COOKIE);
    const user = auth.session(token);
    if (!user) return next(new Error("unauthenticated"));
    if (user.mustChangePin) return next(new Error("PIN change required"));
    socket.data.token = token;
    socket.data.username = user.username;
    next();
  });

  io.on("connection", (socket) => {
    // The user as of now, not as of the handshake: roles can change and sessions expire while a socket lives.
    const currentUser = (): SessionUser | undefined => auth.session(tokenOf(socket));
    socket.on("live.join", () => {
      const user = currentUser();
      if (!user) return end(socket, "session expired");
      if (!can(user.role, SOCKET_EVENT_PERMISSIONS["live.join"])) return;
      socket.emit("alarms.snapshot", station.alarms.active());
      void sendLots(socket);
    });
    socket.on("live.visible", (keys) => {
      const user = currentUser();
      if (!user) return end(socket, "session expired");
      if (!can(user.role, SOCKET_EVENT_PERMISSIONS["live.visible"])) return;
      // the HTTP edge (http-server.ts) streams by it (catchUp: what to send at once; null: everything)
      if (keys === null) {
        socket.data.visible = undefined;
        socket.data.catchUp = null;
        return;
      }
      if (!Array.isArray(keys) || keys.length > MAX_VISIBLE || !keys.every((k) => typeof k === "string" && k.length <= 80)) return; // malformed: left as it was
      const before: Set<string> | undefined = socket.data.visible;
      socket.data.visible = new Set(keys);
      socket.data.catchUp = before === undefined ? [] : keys.filter((k) => !before.has(k));
    });
    socket.on("alarm.acknowledge", (id, done) => {
      if (typeof done !== "function") return;
      const user = currentUser();
      if (!user) {
        done({ ok: false, status: 401, error: "not signed in" });
        return end(socket, "session expired");
      }
      const permission = SOCKET_EVENT_PERMISSIONS["alarm.acknowledge"];
      if (!can(user.role, permission)) return done({ ok: false, status: 403, error: `role ${user.role} may not ${permission}` });
      if (typeof id !== "string" || id.length === 0 || id.length > 64) return done({ ok: false, status: 400, error: "alarm id: expected a string" });
      try {
        done({ ok: true, value: acknowledgeAlarm(station, audit, user, id) });
      } catch (e) {
        if (e instanceof AlarmNotFoundError) return done({ ok: false, status: 404, error: e.message });
        throw e;
      }
    });
  });

  // Lots can change many times a second while runs progress; send each lot at most once per coalescing period.
  const pending = new Map<string, LotUpdate>();
  station.onLotChanged((lot, runs) => void pending.set(lot.id, { lot, runs }));
  station.onAlarm((a) => void io.emit("alarm.changed", a));
  const flush = setInterval(() => {
    for (const u of pending.values()) io.emit("lot.updated", u);
    pending.clear();
  }, LIVE_COALESCE_MS);
  const sweep = setInterval(() => {
    for (const s of io.sockets.sockets.values()) if (!auth.session(tokenOf(s), { touch: false })) end(s, "session expired");
  }, SESSION_SWEEP_MS);
  io.httpServer.once("close", () => {
    clearInterval(flush);
    clearInterval(sweep);
  });

  return {
    endToken(token, reason) {
      for (const s of io.sockets.sockets.values()) if (tokenOf(s) === token) end(s, reason);
    },
    endUser(username, reason) {
      for (const s of io.sockets.sockets.values()) if (s.data.username === username) end(s, reason);
    },
  };
}
