/** Login, lock-out, session expiry, forced PIN change, fixation and account changes through the real HTTP edge. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createAuthService } from "../../server/auth/auth.service.ts";
import { startHarness, USERS, type Harness } from "./api-harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("first start", () => {
  it("creates one admin with a random 6-digit PIN that must be changed, and only once", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "axviam-auth-"));
    try {
      const first = await createAuthService(dir);
      expect(first.bootstrap.adminCreated).toBe(true);
      expect(first.bootstrap.adminPin).toMatch(/^\d{6}$/);
      expect(first.users()).toEqual([expect.objectContaining({ username: "admin", role: "admin", mustChangePin: true })]);
      const stored = readFileSync(path.join(dir, "users.json"), "utf8");
      expect(stored).not.toContain(`"${first.bootstrap.adminPin}"`);
      expect(stored).toMatch(/"pinHash": "scrypt\$16384\$8\$1\$/);
      const second = await createAuthService(dir);
      expect(second.bootstrap.adminCreated).toBe(false);
      const { user } = await second.login("admin", first.bootstrap.adminPin!, "127.0.0.1");
      expect(user.mustChangePin).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("login", () => {
  it("sets an httpOnly SameSite=Strict cookie with a 32-byte token; badge codes work as the user", async () => {
    h = await startHarness();
    const res = await h.call("POST", "/auth/login", { body: { user: "OLGA", pin: USERS.operator.pin } });
    expect(res.status).toBe(200);
    expect(res.body.user).toEqual({ username: "olga", displayName: "operator olga", role: "operator", mustChangePin: false });
    expect(res.body.permissions).toEqual(["lot.control", "alarm.acknowledge", "station.read"]);
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^axviam_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    await h.auth.updateUser("olga", { badge: "0042-7781" });
    expect((await h.call("POST", "/auth/login", { body: { user: "0042-7781", pin: USERS.operator.pin } })).body.user.username).toBe("olga");
    expect((await h.call("POST", "/auth/login", { body: { user: "olga", pin: "0000" } })).status).toBe(401);
    expect((await h.call("POST", "/auth/login", { body: { user: "nobody", pin: "0000" } })).status).toBe(401);
  });

  it("issues a new token on every login and drops the one the browser presented (no fixation)", async () => {
    h = await startHarness();
    const first = await h.loginAs("operator");
    const res = await h.call("POST", "/auth/login", { cookie: first, body: { user: "olga", pin: USERS.operator.pin } });
    const second = res.headers.get("set-cookie")!.split(";")[0];
    expect(second).not.toBe(first);
    expect((await h.call("GET", "/auth/session", { cookie: first })).status).toBe(401);
    expect((await h.call("GET", "/auth/session", { cookie: second })).status).toBe(200);
  });

  it("locks a user out after 5 failures with a growing Retry-After, and audits each", async () => {
    let t = Date.parse("2026-12-01T08:00:00Z");
    h = await startHarness({ auth: { now: () => t } });
    for (let i = 0; i < 5; i++) expect((await h.call("POST", "/auth/login", { body: { user: "olga", pin: "9999" } })).status).toBe(401);
    const locked = await h.call("POST", "/auth/login", { body: { user: "olga", pin: USERS.operator.pin } });
    expect(locked.status).toBe(429);
    expect(locked.headers.get("retry-after")).toBe("30");
    // other users are not locked by olga's failures
    expect((await h.call("POST", "/auth/login", { body: { user: "sam", pin: USERS.supervisor.pin } })).status).toBe(200);
    t += 31_000;
    expect((await h.call("POST", "/auth/login", { body: { user: "olga", pin: "9998" } })).status).toBe(401);
    const again = await h.call("POST", "/auth/login", { body: { user: "olga", pin: USERS.operator.pin } });
    expect(again.status).toBe(429);
    expect(again.headers.get("retry-after")).toBe("60"); // 6th failure: 30 s × 2
    t += 61_000;
    expect((await h.call("POST", "/auth/login", { body: { user: "olga", pin: USERS.operator.pin } })).status).toBe(200);
    const actions = h.audit.query({ target: "olga", action: "auth" }).map((e) => e.action).reverse();
    expect(actions).toEqual([...Array(5).fill("auth.login-failed"), "auth.locked-out", "auth.login-failed", "auth.locked-out", "auth.login"]);
  });

  it("locks an address out after 20 failures whatever the usernames", async () => {
    h = await startHarness();
    for (let i = 0; i < 20; i++) expect((await h.call("POST", "/auth/login", { body: { user: `guess${i}`, pin: "1234" } })).status).toBe(401);
    expect((await h.call("POST", "/auth/login", { body: { user: "sam", pin: USERS.supervisor.pin } })).status).toBe(429);
  });
});

describe("sessions", () => {
  it("expire after 30 min idle and after 8 h however active", async () => {
    let t = Date.parse("2026-12-01T06:00:00Z");
    h = await startHarness({ auth: { now: () => t } });
    const idle = await h.loginAs("supervisor");
    t += 29 * 60_000;
    expect((await h.call("GET", "/lots", { cookie: idle })).status).toBe(200);
    t += 29 * 60_000; // 58 min since login, but only 29 since the last request
    expect((await h.call("GET", "/lots", { cookie: idle })).status).toBe(200);
    t += 31 * 60_000;
    expect((await h.call("GET", "/lots", { cookie: idle })).status).toBe(401);

    const busy = await h.loginAs("operator");
    for (let minutes = 0; minutes < 8 * 60 - 20; minutes += 20) {
      t += 20 * 60_000;
      expect((await h.call("GET", "/lots", { cookie: busy })).status).toBe(200);
    }
    t += 21 * 60_000; // 8 h 1 min after login, 21 min after the last request
    expect((await h.call("GET", "/lots", { cookie: busy })).status).toBe(401);
  });

  it("logout ends the session", async () => {
    h = await startHarness();
    const cookie = await h.loginAs("qa");
    expect((await h.call("POST", "/auth/logout", { cookie })).status).toBe(204);
    expect((await h.call("GET", "/lots", { cookie })).status).toBe(401);
    expect(h.audit.query({ action: "auth.logout" })[0]).toMatchObject({ actor: "quinn" });
  });

  it("disabling a user or resetting their PIN ends their sessions at once", async () => {
    h = await startHarness();
    const admin = await h.loginAs("admin");
    const olga = await h.loginAs("operator");
    const sam = await h.loginAs("supervisor");
    expect((await h.call("PATCH", "/users/olga", { cookie: admin, body: { disabled: true } })).status).toBe(200);
    expect((await h.call("GET", "/lots", { cookie: olga })).status).toBe(401);
    expect((await h.call("POST", "/auth/login", { body: { user: "olga", pin: USERS.operator.pin } })).status).toBe(401);
    expect((await h.call("POST", "/users/sam/reset-pin", { cookie: admin, body: { pin: "55555" } })).status).toBe(200);
    expect((await h.call("GET", "/lots", { cookie: sam })).status).toBe(401);
    expect((await h.call("PATCH", "/users/admin", { cookie: admin, body: { role: "qa" } })).status).toBe(409); // last admin
  });
});

describe("forced PIN change", () => {
  it("a new user may only change the PIN until they have", async () => {
    h = await startHarness();
    const admin = await h.loginAs("admin");
    expect((await h.call("POST", "/users", { cookie: admin, body: { username: "neo", displayName: "Neo", role: "operator", pin: "8642" } })).status).toBe(201);
    const neo = await h.login("neo", "8642");
    const blocked = await h.call("GET", "/lots", { cookie: neo });
    expect(blocked.status).toBe(403);
    expect(blocked.body.code).toBe("pin-change-required");
    expect((await h.call("GET", "/auth/session", { cookie: neo })).body.user.mustChangePin).toBe(true);
    expect((await h.call("POST", "/auth/change-pin", { cookie: neo, body: { currentPin: "8642", newPin: "8642" } })).status).toBe(400);
    expect((await h.call("POST", "/auth/change-pin", { cookie: neo, body: { currentPin: "0000", newPin: "1357" } })).status).toBe(403);
    const changed = await h.call("POST", "/auth/change-pin", { cookie: neo, body: { currentPin: "8642", newPin: "1357" } });
    expect(changed.status).toBe(200);
    expect(changed.body.user.mustChangePin).toBe(false);
    expect((await h.call("GET", "/lots", { cookie: neo })).status).toBe(200);
    expect((await h.call("POST", "/auth/login", { body: { user: "neo", pin: "8642" } })).status).toBe(401);
  });
});
