/**
 * The station's REST API under /api, one module per domain, plus its socket.io side. Wire it into the HTTP edge:
 *   const api = createApiRouter({ station, auth, audit, recipesDir, gradingRulesDir, log });
 *   startHttpServer({ ..., routes: api.mount, socket: api.attachSocket });
 */
import express, { type Express, type Router } from "express";
import type { Server as IoServer } from "socket.io";
import { alarmRoutes } from "./alarms.routes.ts";
import { authenticated, errorHandler, type ApiDeps } from "./api-context.ts";
import { auditRoutes } from "./audit.routes.ts";
import { authRoutes } from "./auth.routes.ts";
import { cellRoutes } from "./cells.routes.ts";
import { channelRoutes } from "./channels.routes.ts";
import type { ClientToServerEvents, ServerToClientEvents } from "./events.ts";
import { attachLiveSocket, type LiveSocketControl } from "./live-socket.ts";
import { lotRoutes } from "./lots.routes.ts";
import { openApiDocument } from "./openapi.ts";
import { recipeRoutes } from "./recipes.routes.ts";
import { auditStationChanges } from "./station-audit.ts";
import { userRoutes } from "./users.routes.ts";

export type { ApiDeps } from "./api-context.ts";

export interface ApiRouter {
  /** the express router; mount() puts it under /api */
  router: Router;
  /** pass as HttpServerOptions.routes */
  mount(app: Express): void;
  /** pass as HttpServerOptions.socket: authenticates sockets and adds lot/alarm events */
  attachSocket(io: IoServer<ClientToServerEvents, ServerToClientEvents>): void;
}

export function createApiRouter(deps: ApiDeps): ApiRouter {
  let live: LiveSocketControl | undefined;
  const router = express.Router();
  const openApi = openApiDocument();
  router.get("/openapi.json", (_req, res) => void res.json(openApi));
  authRoutes(router, deps, (token) => live?.endToken(token, "logged out"));
  // Everything below needs a live session (and no pending PIN change); each route then checks its permission.
  router.use(authenticated(deps.auth));
  lotRoutes(router, deps);
  cellRoutes(router, deps);
  channelRoutes(router, deps);
  alarmRoutes(router, deps);
  recipeRoutes(router, deps);
  userRoutes(router, deps, (username) => live?.endUser(username, "account changed by an admin"));
  auditRoutes(router, deps);
  void auditStationChanges(deps.station, deps.audit, deps.log);
  return {
    router,
    mount(app) {
      app.use("/api", router);
      // App level too: body-parser errors (malformed JSON) happen before the router is reached.
      app.use("/api", errorHandler(deps.log));
    },
    attachSocket(io) {
      live = attachLiveSocket(io, deps);
    },
  };
}
