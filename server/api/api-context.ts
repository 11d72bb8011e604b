/**
 * What every route module shares: the dependencies, the session cookie, the auth and permission guards, body
 * validation, and the one error handler that turns domain errors into HTTP answers.
 */
import type { NextFunction, Request, Response } from "express";
import { z } from "zod";
import type { Logger } from "../log/logger.ts";
import { AuthError, type AuthService, type SessionUser } from "../auth/auth.service.ts";
import { can, type Permission } from "../auth/permissions.ts";
import { RecipeError } from "../domain/recipes/recipe.compiler.ts";
import { AlarmNotFoundError } from "../station/alarms.ts";
import { StationRequestError, type StationService } from "../station/station-service.ts";
import type { AuditLog } from "../store/audit-log.ts";
import { DocumentVersionError } from "../store/versioned-docs.ts";

export interface ApiDeps {
  station: StationService;
  auth: AuthService;
  audit: AuditLog;
  /** recipe YAML files (station-config/recipes) */
  recipesDir: string;
  /** grading-rule YAML files (station-config/grading) */
  gradingRulesDir: string;
  log: Logger;
}

export const SESSION_COOKIE = "axviam_session";

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

export function sessionToken(req: Request): string | undefined {
  return readCookie(req.headers.cookie, SESSION_COOKIE);
}

/** The signed-in user of a request that passed `authenticated`. */
export function actor(res: Response): SessionUser {
  return res.locals.user as SessionUser;
}

/** 401 without a live session; 403 while the user still has to replace a default/reset PIN. */
export function authenticated(auth: AuthService, opts: { allowPinChange?: boolean } = {}) {
  return (req: Request, res: Response, next: NextFunction) => {
    const user = auth.session(sessionToken(req));
    if (!user) return void res.status(401).json({ error: "not signed in" });
    if (user.mustChangePin && !opts.allowPinChange) return void res.status(403).json({ error: "PIN change required", code: "pin-change-required" });
    res.locals.user = user;
    next();
  };
}

/** 403 unless the signed-in user's role holds the permission (PERMISSIONS in server/auth/permissions.ts). */
export function allow(permission: Permission) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const user = actor(res);
    if (!can(user.role, permission)) return void res.status(403).json({ error: `role ${user.role} may not ${permission}` });
    next();
  };
}

export class RequestValidationError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid request: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
    this.name = "RequestValidationError";
  }
}

/** Validate input; the error names each field by its path ("cells.2.serial", "query.limit"). */
export function validate<S extends z.ZodType>(schema: S, value: unknown, prefix?: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new RequestValidationError(r.error.issues.map((i) => ({ path: [prefix, ...i.path.map(String)].filter(Boolean).join(".") || "(body)", message: i.message })));
}

export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err instanceof RequestValidationError) return void res.status(400).json({ error: err.message, issues: err.issues });
    if (err instanceof AuthError) {
      if (err.retryAfterS !== undefined) res.setHeader("Retry-After", String(err.retryAfterS));
      return void res.status(err.status).json({ error: err.message });
    }
    if (err instanceof StationRequestError) return void res.status(err.status).json({ error: err.message });
    if (err instanceof AlarmNotFoundError) return void res.status(404).json({ error: err.message });
    if (err instanceof RecipeError) return void res.status(400).json({ error: err.message, issues: [{ path: err.field ?? "yaml", message: err.message }] });
    if (err instanceof DocumentVersionError) return void res.status(err.status).json({ error: err.message });
    const bodyError = bodyParserError(err);
    if (bodyError) return void res.status(bodyError.status).json({ error: bodyError.message });
    log.error({ err, path: req.path }, "API request failed");
    res.status(500).json({ error: "internal error" });
  };
}

/** body-parser refusals carry a `type` and a 4xx status: too large, malformed, wrong charset or encoding. */
const BODY_ERRORS: Record<string, (e: { limit?: number }) => string> = {
  "entity.parse.failed": () => "request body is not valid JSON",
  "entity.too.large": (e) => `request body larger than ${e.limit ?? "the limit"} bytes`,
  "request.aborted": () => "request aborted by the client",
  "request.size.invalid": () => "request body size does not match Content-Length",
  "charset.unsupported": () => "unsupported charset: send UTF-8 JSON",
  "encoding.unsupported": () => "unsupported Content-Encoding",
  "parameters.too.many": () => "too many parameters",
};

function bodyParserError(err: unknown): { status: number; message: string } | undefined {
  const e = err as { type?: unknown; status?: unknown; limit?: number };
  if (typeof e?.type !== "string" || !(e.type in BODY_ERRORS)) return undefined;
  const status = typeof e.status === "number" && e.status >= 400 && e.status < 500 ? e.status : 400;
  return { status, message: BODY_ERRORS[e.type](e) };
}
