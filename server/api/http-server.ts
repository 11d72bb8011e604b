/** HTTP edge: REST under /api, the live socket.io stream, and the built HMI as static files. */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { Server as IoServer, type Socket } from "socket.io";
import type { Logger } from "../log/logger.ts";
import type { LiveHub } from "../station/live-hub.ts";
import type { ChannelView, ClientToServerEvents, ServerToClientEvents, StationSnapshot } from "./events.ts";

/** what every client gets of every channel, shown or not */
const discreteOf = (v: ChannelView) => `${v.state}|${v.alarmCode}|${v.serial ?? ""}|${v.runId ?? ""}`;

/** shortest gap between two live flushes [ms]: bounds the message rate, adds at most this to a change's delay */
const MIN_FLUSH_GAP_MS = 50;

export interface HttpServerOptions {
  host: string;
  port: number;
  hmiDir: string;
  hub: LiveHub;
  snapshotMeta: () => Omit<StationSnapshot, "channels" | "links">;
  log: Logger;
  /** extra REST routes mounted under /api by other parts */
  routes?: (app: Express) => void;
  /** socket.io extensions (authentication middleware, more events), attached before the first connection */
  socket?: (io: IoServer<ClientToServerEvents, ServerToClientEvents>) => void;
}

export interface HttpServerHandle {
  port: number;
  url: string;
  io: IoServer<ClientToServerEvents, ServerToClientEvents>;
  close(): Promise<void>;
}

export async function startHttpServer(o: HttpServerOptions): Promise<HttpServerHandle> {
  const app = express();
  app.disable("x-powered-by");
  app.use(securityHeaders);
  app.use(express.json({ limit: "1mb" }));
  app.get("/api/health", (_req, res) => {
    res.json({ ok: true, links: o.hub.links() });
  });
  o.routes?.(app);
  // After the extra routes: when they include the authenticated API router, its session check runs first, so live
  // channel data (serials, run ids) needs a session like every other read; without an auth API it stays public
  // (the view-only overview).
  app.get("/api/channels", (_req, res) => {
    res.json(o.hub.channels());
  });
  app.use("/api", (_req, res) => {
    res.status(404).json({ error: "no such endpoint" });
  });

  if (existsSync(path.join(o.hmiDir, "index.html"))) {
    app.use(express.static(o.hmiDir, { index: false, maxAge: "1h" }));
    app.get("/{*splat}", (_req, res) => res.sendFile(path.join(o.hmiDir, "index.html")));
  } else {
    o.log.warn({ hmiDir: o.hmiDir }, "HMI is not built (run `npm run build`); serving the API only");
  }

  const server: Server = createServer(app);
  const io = new IoServer<ClientToServerEvents, ServerToClientEvents>(server, { serveClient: false });
  o.socket?.(io);
  const snapshot = (): StationSnapshot => ({ ...o.snapshotMeta(), channels: o.hub.channels(), links: o.hub.links() });

  io.on("connection", (socket) => {
    socket.on("live.join", (scope) => {
      for (const room of socket.rooms) if (room !== socket.id) void socket.leave(room);
      const room = scope?.channelKey ? `channel:${scope.channelKey}` : scope?.cyclerId ? `cycler:${scope.cyclerId}` : "station";
      void socket.join(room);
      const snap = snapshot();
      // the snapshot told the client every channel's state: from here on only changes of it go to hidden channels
      socket.data.sentState = new Map(snap.channels.map((v) => [v.key, discreteOf(v)]));
      socket.emit("station.snapshot", snap);
    });
    // live-socket.ts (registered first) checked the role and stored the set; newly visible channels go out next flush
    socket.on("live.visible", () => scheduleFlush(Date.now()));
  });

  // Coalescing (live-hub): a change goes out on the next flush; flushes are at least MIN_FLUSH_GAP_MS apart so a
  // burst of changes (one bulk read of every channel) travels as one message; every room gets only its channels.
  let closed = false;
  let flushTimer: NodeJS.Timeout | undefined;
  let flushAtMs = Infinity;
  let lastFlushMs = 0;
  const scheduleFlush = (atMs: number) => {
    if (closed || (flushTimer !== undefined && flushAtMs <= atMs)) return;
    clearTimeout(flushTimer);
    flushAtMs = atMs;
    flushTimer = setTimeout(flush, Math.max(0, atMs - Date.now()));
  };
  const flush = () => {
    flushTimer = undefined;
    flushAtMs = Infinity;
    const now = Date.now();
    lastFlushMs = now;
    const { due, nextDueMs } = o.hub.takeDue(now);
    if (nextDueMs !== undefined) scheduleFlush(Math.max(nextDueMs, now + MIN_FLUSH_GAP_MS));
    for (const socket of io.sockets.sockets.values()) {
      const out = forSocket(socket, due);
      if (out.length > 0) socket.emit("channels.updated", out);
    }
  };
  /**
   * What one client gets of a flush: the channels of its room; of those it does not show (live.visible), only a
   * changed state, alarm or run — values stream only where someone looks. Channels it just scrolled to catch up.
   */
  const forSocket = (socket: Socket, due: ChannelView[]): ChannelView[] => {
    const room = [...socket.rooms].find((r) => r !== socket.id);
    if (room === undefined) return [];
    const inRoom = room === "station" ? due : room.startsWith("cycler:") ? due.filter((v) => `cycler:${v.cyclerId}` === room) : due.filter((v) => `channel:${v.key}` === room);
    const visible = socket.data.visible as Set<string> | undefined;
    const sentState = socket.data.sentState as Map<string, string>;
    const out: ChannelView[] = [];
    const pending = socket.data.catchUp as string[] | null | undefined;
    const catchUp = new Set<string>(pending === null ? o.hub.channels().map((v) => v.key) : (pending ?? []));
    socket.data.catchUp = [];
    for (const v of inRoom) {
      catchUp.delete(v.key);
      const state = discreteOf(v);
      if (visible === undefined || room !== "station" || visible.has(v.key) || sentState.get(v.key) !== state) {
        out.push(v);
        sentState.set(v.key, state);
      }
    }
    for (const key of catchUp) {
      const v = o.hub.get(key);
      if (v && room === "station") out.push(v);
    }
    return out;
  };
  o.hub.onChange(() => scheduleFlush(Math.max(Date.now(), lastFlushMs + MIN_FLUSH_GAP_MS)));
  o.hub.onLink((l) => io.to("station").emit("equipment.link", l));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  o.log.info({ port }, "HTTP server listening");
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    io,
    async close() {
      closed = true;
      clearTimeout(flushTimer);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

/**
 * Defence in depth for the HMI: scripts only from the station itself (an injected inline script or event handler
 * does not run even if some text were ever rendered as HTML), no framing (clickjacking on the touch panel), no
 * MIME sniffing, no referrer leaving the plant network. connect-src stays open: the plant view reads the plant
 * service on another origin.
 */
function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader("Content-Security-Policy", "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Referrer-Policy", "no-referrer");
  next();
}
