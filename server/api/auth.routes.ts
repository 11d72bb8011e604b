/** Login by user (or badge) + PIN, logout, the current session, and PIN change. */
import type { Request, Response, Router } from "express";
import { z } from "zod";
import { AuthError } from "../auth/auth.service.ts";
import { permissionsOf } from "../auth/permissions.ts";
import { actor, authenticated, SESSION_COOKIE, sessionToken, validate, type ApiDeps } from "./api-context.ts";

export const pinSchema = z.string().min(4, "at least 4 characters").max(64);
export const loginSchema = z.object({ user: z.string().trim().min(1).max(64), pin: z.string().min(1).max(64) }).strict();
export const changePinSchema = z.object({ currentPin: z.string().min(1).max(64), newPin: pinSchema }).strict();

function setSessionCookie(req: Request, res: Response, token: string): void {
  // No Max-Age: a browser-session cookie; the server's idle and absolute expiry decide how long it is honoured.
  res.setHeader("Set-Cookie", `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict${req.secure ? "; Secure" : ""}`);
}

export function authRoutes(r: Router, { auth, audit }: ApiDeps, onLogout: (token: string) => void): void {
  r.post("/auth/login", async (req, res) => {
    const body = validate(loginSchema, req.body);
    const address = req.ip ?? "unknown";
    // A login never reuses a token the browser already holds (no session fixation): drop it, issue a new one.
    const previous = sessionToken(req);
    if (previous) auth.logout(previous);
    try {
      const { token, user } = await auth.login(body.user, body.pin, address);
      setSessionCookie(req, res, token);
      audit.append({ actor: user.username, action: "auth.login", target: user.username, details: { address } });
      res.json({ user, permissions: permissionsOf(user.role) });
    } catch (e) {
      if (e instanceof AuthError) audit.append({ actor: body.user, action: e.status === 429 ? "auth.locked-out" : "auth.login-failed", target: body.user, details: { address } });
      throw e;
    }
  });

  r.post("/auth/logout", (req, res) => {
    const token = sessionToken(req);
    const user = auth.session(token);
    if (token) {
      auth.logout(token);
      onLogout(token);
    }
    if (user) audit.append({ actor: user.username, action: "auth.logout", target: user.username });
    res.setHeader("Set-Cookie", `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    res.status(204).end();
  });

  r.get("/auth/session", authenticated(auth, { allowPinChange: true }), (_req, res) => {
    const user = actor(res);
    res.json({ user, permissions: permissionsOf(user.role) });
  });

  r.post("/auth/change-pin", authenticated(auth, { allowPinChange: true }), async (_req, res) => {
    const body = validate(changePinSchema, _req.body);
    const user = await auth.changePin(actor(res).username, body.currentPin, body.newPin);
    audit.append({ actor: user.username, action: "auth.pin-change", target: user.username });
    res.json({ user, permissions: permissionsOf(user.role) });
  });
}
