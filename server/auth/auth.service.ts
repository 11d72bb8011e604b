/**
 * Users, PIN login and sessions. Users live in `<dataDir>/users.json` (lowdb) with scrypt PIN hashes; sessions
 * are server-side (random 32-byte tokens, in memory: a station restart logs everyone out), with an idle and an
 * absolute expiry, and a fresh token on every login so a planted token can never become a session (no fixation).
 * A station starts with one `admin` account whose PIN must be changed at first login.
 */
import { randomBytes, randomInt } from "node:crypto";
import path from "node:path";
import type { Low } from "lowdb";
import { openJsonFile } from "../store/json-file.ts";
import { createLoginThrottle, DEFAULT_THROTTLE, type ThrottleOptions } from "./login-throttle.ts";
import type { Role } from "./permissions.ts";
import { hashPin, verifyPin } from "./pin-hash.ts";

export interface UserRecord {
  username: string;
  displayName: string;
  role: Role;
  /** badge code a scanner types into the user field; unique */
  badge?: string;
  pinHash: string;
  disabled: boolean;
  mustChangePin: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A user as the API shows it: never the hash. */
export type PublicUser = Omit<UserRecord, "pinHash">;

export interface SessionUser {
  username: string;
  displayName: string;
  role: Role;
  mustChangePin: boolean;
}

export class AuthError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 429,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = "AuthError";
  }
}

export interface AuthOptions {
  /** idle timeout [ms]; default 30 min */
  idleMs?: number;
  /** absolute session lifetime [ms]; default 8 h (one shift) */
  absoluteMs?: number;
  throttle?: Partial<ThrottleOptions>;
  /** PIN of the first admin; default: six random digits, reported once in `bootstrap` */
  initialAdminPin?: string;
  now?: () => number;
}

export interface AuthService {
  /** set when this start created the default admin: the one-time PIN to log in with (then it must be changed) */
  readonly bootstrap: { adminCreated: boolean; adminPin?: string };
  /** `user` may be the username or a badge code; `address` is the client's address for rate limiting */
  login(user: string, pin: string, address: string): Promise<{ token: string; user: SessionUser; expiresAtMs: number }>;
  logout(token: string): void;
  /**
   * The live session for a token, or undefined when unknown/expired/disabled. A user request refreshes the
   * idle timer; background checks (socket sweeps) pass `touch: false` so watching alone does not keep it alive.
   */
  session(token: string | undefined, opts?: { touch?: boolean }): SessionUser | undefined;
  changePin(username: string, currentPin: string, newPin: string): Promise<SessionUser>;
  users(): PublicUser[];
  createUser(u: { username: string; displayName: string; role: Role; pin: string; badge?: string }): Promise<PublicUser>;
  updateUser(username: string, patch: { displayName?: string; role?: Role; disabled?: boolean; badge?: string | null }): Promise<PublicUser>;
  /** admin reset: the user must choose a new PIN at next login */
  resetPin(username: string, pin: string): Promise<PublicUser>;
}

interface UsersFile {
  users: UserRecord[];
}

interface Session {
  username: string;
  createdAtMs: number;
  lastSeenMs: number;
}

const publicUser = ({ pinHash: _pinHash, ...u }: UserRecord): PublicUser => u;
const sessionUser = (u: UserRecord): SessionUser => ({ username: u.username, displayName: u.displayName, role: u.role, mustChangePin: u.mustChangePin });

export async function createAuthService(dataDir: string, o: AuthOptions = {}): Promise<AuthService> {
  const now = o.now ?? Date.now;
  const idleMs = o.idleMs ?? 30 * 60_000;
  const absoluteMs = o.absoluteMs ?? 8 * 3600_000;
  const db: Low<UsersFile> = await openJsonFile<UsersFile>(path.join(dataDir, "users.json"), { users: [] });
  const throttle = createLoginThrottle({ ...DEFAULT_THROTTLE, ...o.throttle }, now);
  const sessions = new Map<string, Session>();
  // Unknown users still cost one scrypt, so response time does not reveal which usernames exist.
  const dummyHash = await hashPin(randomBytes(8).toString("hex"));

  const bootstrap: AuthService["bootstrap"] = { adminCreated: false };
  if (db.data.users.length === 0) {
    const pin = o.initialAdminPin ?? String(randomInt(0, 1_000_000)).padStart(6, "0");
    const at = new Date(now()).toISOString();
    db.data.users.push({ username: "admin", displayName: "Administrator", role: "admin", pinHash: await hashPin(pin), disabled: false, mustChangePin: true, createdAt: at, updatedAt: at });
    await db.write();
    bootstrap.adminCreated = true;
    bootstrap.adminPin = pin;
  }

  const find = (username: string) => db.data.users.find((u) => u.username === username.toLowerCase());
  const mustFind = (username: string) => {
    const u = find(username);
    if (!u) throw new AuthError(404, `no user "${username}"`);
    return u;
  };
  const dropSessions = (username: string) => {
    for (const [token, s] of sessions) if (s.username === username) sessions.delete(token);
  };
  const save = async (u: UserRecord) => {
    u.updatedAt = new Date(now()).toISOString();
    await db.write();
    return publicUser(u);
  };
  const assertBadgeFree = (badge: string, username: string) => {
    const other = db.data.users.find((u) => u.badge === badge && u.username !== username);
    if (other) throw new AuthError(409, `badge ${badge} already belongs to ${other.username}`);
  };

  return {
    bootstrap,
    async login(userOrBadge, pin, address) {
      const key = userOrBadge.trim().toLowerCase();
      const wait = throttle.retryAfterMs(key, address);
      if (wait > 0) throw new AuthError(429, "too many failed logins; try again later", Math.ceil(wait / 1000));
      const u = db.data.users.find((x) => x.username === key || (x.badge !== undefined && x.badge.toLowerCase() === key));
      const ok = await verifyPin(pin, u?.pinHash ?? dummyHash);
      if (!u || !ok || u.disabled) {
        throttle.failed(key, address);
        throw new AuthError(401, "unknown user or wrong PIN");
      }
      throttle.succeeded(key);
      const token = randomBytes(32).toString("base64url");
      sessions.set(token, { username: u.username, createdAtMs: now(), lastSeenMs: now() });
      return { token, user: sessionUser(u), expiresAtMs: now() + idleMs };
    },
    logout: (token) => void sessions.delete(token),
    session(token, { touch = true } = {}) {
      if (!token) return undefined;
      const s = sessions.get(token);
      if (!s) return undefined;
      const t = now();
      const u = find(s.username);
      if (t - s.lastSeenMs > idleMs || t - s.createdAtMs > absoluteMs || !u || u.disabled) {
        sessions.delete(token);
        return undefined;
      }
      if (touch) s.lastSeenMs = t;
      return sessionUser(u);
    },
    async changePin(username, currentPin, newPin) {
      const u = mustFind(username);
      if (!(await verifyPin(currentPin, u.pinHash))) throw new AuthError(403, "current PIN is wrong");
      if (currentPin === newPin) throw new AuthError(400, "the new PIN must differ from the current one");
      u.pinHash = await hashPin(newPin);
      u.mustChangePin = false;
      await save(u);
      return sessionUser(u);
    },
    users: () => db.data.users.map(publicUser),
    async createUser({ username, displayName, role, pin, badge }) {
      const name = username.toLowerCase();
      if (find(name)) throw new AuthError(409, `user "${name}" already exists`);
      if (badge !== undefined) assertBadgeFree(badge, name);
      const at = new Date(now()).toISOString();
      const u: UserRecord = { username: name, displayName, role, badge, pinHash: await hashPin(pin), disabled: false, mustChangePin: true, createdAt: at, updatedAt: at };
      db.data.users.push(u);
      return save(u);
    },
    async updateUser(username, patch) {
      const u = mustFind(username);
      const admins = db.data.users.filter((x) => x.role === "admin" && !x.disabled);
      const losesAdmin = (patch.disabled === true || (patch.role !== undefined && patch.role !== "admin")) && u.role === "admin" && !u.disabled;
      if (losesAdmin && admins.length === 1) throw new AuthError(409, `${u.username} is the last active admin`);
      if (patch.badge) assertBadgeFree(patch.badge, u.username);
      if (patch.displayName !== undefined) u.displayName = patch.displayName;
      if (patch.role !== undefined) u.role = patch.role;
      if (patch.disabled !== undefined) u.disabled = patch.disabled;
      if (patch.badge === null) delete u.badge;
      else if (patch.badge !== undefined) u.badge = patch.badge;
      if (patch.disabled) dropSessions(u.username);
      return save(u);
    },
    async resetPin(username, pin) {
      const u = mustFind(username);
      u.pinHash = await hashPin(pin);
      u.mustChangePin = true;
      dropSessions(u.username);
      return save(u);
    },
  };
}
