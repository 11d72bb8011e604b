/** User administration (admin): list, create, change role/name/badge, disable, reset PIN. */
import type { Router } from "express";
import { z } from "zod";
import { ROLES } from "../auth/permissions.ts";
import { actor, allow, validate, type ApiDeps } from "./api-context.ts";
import { pinSchema } from "./auth.routes.ts";

const usernameSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{1,31}$/i, "2–32 letters, digits, '.', '_', '-'");
const badgeSchema = z.string().trim().min(4).max(64);
export const createUserSchema = z
  .object({ username: usernameSchema, displayName: z.string().trim().min(1).max(80), role: z.enum(ROLES), pin: pinSchema, badge: badgeSchema.optional() })
  .strict();
export const patchUserSchema = z
  .object({ displayName: z.string().trim().min(1).max(80).optional(), role: z.enum(ROLES).optional(), disabled: z.boolean().optional(), badge: badgeSchema.nullable().optional() })
  .strict()
  .refine((p) => Object.keys(p).length > 0, "nothing to change");
export const resetPinSchema = z.object({ pin: pinSchema }).strict();
const userParam = z.object({ username: usernameSchema });

export function userRoutes(r: Router, { auth, audit }: ApiDeps, onUserLocked: (username: string) => void): void {
  r.get("/users", allow("user.manage"), (_req, res) => {
    res.json(auth.users());
  });
  r.post("/users", allow("user.manage"), async (req, res) => {
    const body = validate(createUserSchema, req.body);
    const user = await auth.createUser(body);
    audit.append({ actor: actor(res).username, action: "user.create", target: user.username, details: { role: user.role, displayName: user.displayName } });
    res.status(201).json(user);
  });
  r.patch("/users/:username", allow("user.manage"), async (req, res) => {
    const { username } = validate(userParam, req.params, "params");
    const patch = validate(patchUserSchema, req.body);
    const user = await auth.updateUser(username, patch);
    if (patch.disabled) onUserLocked(user.username);
    audit.append({ actor: actor(res).username, action: "user.update", target: user.username, details: patch });
    res.json(user);
  });
  r.post("/users/:username/reset-pin", allow("user.manage"), async (req, res) => {
    const { username } = validate(userParam, req.params, "params");
    const { pin } = validate(resetPinSchema, req.body);
    const user = await auth.resetPin(username, pin);
    onUserLocked(user.username);
    audit.append({ actor: actor(res).username, action: "user.reset-pin", target: user.username });
    res.json(user);
  });
}
