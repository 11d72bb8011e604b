/**
 * Sessions of the real station: fixation, cookie attributes, idle and absolute expiry (REST and socket), and how
 * far PIN guessing gets. The auth clock is the test's, so hours pass in microseconds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_THROTTLE } from "../../server/auth/login-throttle.ts";
import { startSecurityStation, USERS, type SecurityStation } from "./security-station.ts";

let s: SecurityStation;
let nowMs = Date.parse("2026-03-02T06:00:00Z");
const advance = (ms: number) => void (nowMs += ms);
const MIN = 60_000;

beforeAll(async () => {
  s = await startSecurityStation({ auth: { now: () => nowMs } });
}, 60_000);
afterAll(async () => s?.close());

const status = async (cookie: string) => (await s.raw("GET", "/api/auth/session", { cookie })).status;

describe("session fixation", () => {
  it("a token planted before login is never accepted, and the login issues a fresh one", async () => {
    const planted = `axviam_session=${"Q".repeat(43)}`;
    const issued = await s.login(USERS.operator.username, USERS.operator.pin, planted);
    expect(issued).not.toBe(planted);
    expect(issued).toMatch(/^axviam_session=[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
    expect(await status(planted)).toBe(401);
    expect(await status(issued)).toBe(200);
  });

  it("logging in over a live session ends that session: one browser never holds two identities", async () => {
    const first = await s.loginAs("operator");
    const second = await s.login(USERS.supervisor.username, USERS.supervisor.pin, first);
    expect(await status(first)).toBe(401);
    expect((await s.raw("GET", "/api/auth/session", { cookie: second })).json.user.username).toBe(USERS.supervisor.username);
  });

  it("the cookie is httpOnly, SameSite=Strict, whole-site, and not persistent", async () => {
    const res = await s.raw("POST", "/api/auth/login", { body: { user: USERS.qa.username, pin: USERS.qa.pin } });
    const cookie = String(res.headers["set-cookie"]);
    expect(cookie).toMatch(/; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toMatch(/Max-Age|Expires/i);
  });
});

describe("expiry", () => {
  it("ends a session idle for more than 30 min, on REST and on its socket", async () => {
    const cookie = await s.loginAs("operator");
    const sock = s.socket(cookie);
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    advance(29 * MIN);
    expect(await status(cookie)).toBe(200); // activity restarts the idle timer
    advance(29 * MIN);
    expect(await status(cookie)).toBe(200);
    advance(31 * MIN);
    const ended = new Promise<string>((resolve) => sock.once("session.ended", resolve));
    expect(await sock.timeout(5000).emitWithAck("alarm.acknowledge", "any")).toEqual({ ok: false, status: 401, error: "not signed in" });
    expect(await ended).toBe("session expired");
    expect(await status(cookie)).toBe(401);
  });

  it("ends a session after 8 h however active", async () => {
    const cookie = await s.loginAs("supervisor");
    for (let t = 0; t < 8 * 60 - 20; t += 20) {
      advance(20 * MIN);
      expect(await status(cookie), `${t + 20} min`).toBe(200);
    }
    advance(40 * MIN);
    expect(await status(cookie)).toBe(401);
  });
});

describe("PIN guessing", () => {
  it("locks a user after 5 wrong PINs: even the right PIN is refused until Retry-After has passed", async () => {
    const { username, pin } = USERS.qa;
    for (let i = 0; i < DEFAULT_THROTTLE.maxFailuresPerUser; i++) {
      expect((await s.raw("POST", "/api/auth/login", { body: { user: username, pin: `99${i}9` } })).status).toBe(401);
    }
    const locked = await s.raw("POST", "/api/auth/login", { body: { user: username, pin } });
    expect(locked.status).toBe(429);
    expect(locked.headers["retry-after"]).toBe(String(DEFAULT_THROTTLE.baseLockMs / 1000));
    advance(DEFAULT_THROTTLE.baseLockMs);
    expect((await s.raw("POST", "/api/auth/login", { body: { user: username, pin } })).status).toBe(200);
  });

  it("an attacker who always waits out the lock gets at most 5 guesses per 15 min against one user", async () => {
    // Attack for 2 simulated hours: guess whenever allowed, otherwise sleep exactly as long as Retry-After says.
    const { username } = USERS.supervisor;
    const start = nowMs;
    let guesses = 0;
    let n = 0;
    while (nowMs - start < 120 * MIN) {
      const res = await s.raw("POST", "/api/auth/login", { body: { user: username, pin: String(5000 + n++) } });
      if (res.status === 401) guesses += 1;
      else if (res.status === 429) advance(Number(res.headers["retry-after"]) * 1000);
      else throw new Error(`guess ${n}: unexpected ${res.status}`);
      advance(10); // the attacker's own latency
    }
    // Fixed schedule: 5 free, then locks of 30 s, 60 s, 2 min, 4 min, 8 min and 15 min (cap) after each further
    // failure — 5 + 5 guesses in the first 16 min, then one per 15 min: 10 + (120 − 16) / 15 ≈ 16 in 2 h.
    expect(guesses).toBeLessThanOrEqual(5 + 5 + Math.ceil((120 - 15.5) / 15));
    advance(DEFAULT_THROTTLE.maxLockMs + DEFAULT_THROTTLE.forgetAfterMs);
  }, 60_000);

  it("locks the whole address after 20 failures, whatever the usernames (last: it locks this test's address)", async () => {
    let failures = 0;
    for (let i = 0; failures < DEFAULT_THROTTLE.maxFailuresPerAddress; i++) {
      const res = await s.raw("POST", "/api/auth/login", { body: { user: `spray-${i}`, pin: "0000" } });
      expect(res.status).toBe(401);
      failures += 1;
    }
    const res = await s.raw("POST", "/api/auth/login", { body: { user: USERS.admin.username, pin: USERS.admin.pin } });
    expect(res.status).toBe(429);
    expect(res.json.error).toBe("too many failed logins; try again later");
  });
});
