/**
 * Every mutating endpoint against the real HTTP edge: without a session 401, with each role outside the expected
 * set 403 (and nothing changed), with an allowed role 2xx. The expected roles are written here from DESIGN §1
 * (operators run lots and acknowledge alarms, supervisors also shelve, admins edit configuration and users).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../server/auth/permissions.ts";
import { startHarness, USERS, type Harness } from "./api-harness.ts";

const ALL: Role[] = ["operator", "supervisor", "qa", "admin"];

let h: Harness;
const cookies = {} as Record<Role, string>;

beforeAll(async () => {
  h = await startHarness({ channels: 64 });
  for (const role of ALL) cookies[role] = await h.loginAs(role);
});
afterAll(async () => h.close());

const startBody = (serials: string[], firstSlot = 1) => ({
  name: "Tray test",
  recipe: "factory_init",
  tray: "TR-0001",
  cyclerId: "cycler-1",
  cells: serials.map((serial, i) => ({ slot: firstSlot + i, serial })),
  nominalCapacityAh: 5,
  chemistry: "nmc811-graphite",
});

const recipeYaml = (version: string) => readFileSync(path.join(h.dataDir, "config/recipes/factory_init.yaml"), "utf8").replace(/^version: .*$/m, `version: ${version}`);
const rulesYaml = (version: string) => readFileSync(path.join(h.dataDir, "config/grading/second_life.yaml"), "utf8").replace(/^version: .*$/m, `version: ${version}`);

interface Case {
  name: string;
  method: string;
  /** path and body are built per attempt, after `setup` */
  setup?: () => Promise<Record<string, string>>;
  path: (ctx: Record<string, string>) => string;
  body?: (ctx: Record<string, string>) => unknown;
  allowed: Role[];
  okStatus: number;
  /** proves a refused call changed nothing */
  unchanged?: (ctx: Record<string, string>) => Promise<void>;
}

let serialSeq = 0;
// Every lot gets its own channel, so no attempt finds its channel busy.
let slotSeq = 10;
const newLot = async () => {
  const res = await h.call("POST", "/lots", { cookie: cookies.operator, body: startBody([`PERM-${++serialSeq}`], ++slotSeq) });
  expect(res.status).toBe(201);
  return res.body.id as string;
};

const CASES: Case[] = [
  { name: "start lot", method: "POST", path: () => "/lots", body: () => startBody([`S-${++serialSeq}`], ++slotSeq), allowed: ["operator", "supervisor", "admin"], okStatus: 201,
    unchanged: async () => expect((await h.station.listLots()).filter((l) => l.state === "execute" && l.operator === USERS.qa.username)).toHaveLength(0) },
  { name: "pause lot", method: "POST", setup: async () => ({ lot: await newLot() }), path: (c) => `/lots/${c.lot}/pause`, allowed: ["operator", "supervisor", "admin"], okStatus: 200,
    unchanged: async (c) => expect(h.station.lotsById.get(c.lot)!.lot.state).toBe("execute") },
  { name: "resume lot", method: "POST", setup: async () => { const lot = await newLot(); await h.station.pauseLot(lot, "test"); return { lot }; }, path: (c) => `/lots/${c.lot}/resume`, allowed: ["operator", "supervisor", "admin"], okStatus: 200,
    unchanged: async (c) => expect(h.station.lotsById.get(c.lot)!.lot.state).toBe("held") },
  { name: "abort lot", method: "POST", setup: async () => ({ lot: await newLot() }), path: (c) => `/lots/${c.lot}/abort`, body: () => ({ reason: "cell leaking" }), allowed: ["operator", "supervisor", "admin"], okStatus: 200,
    unchanged: async (c) => expect(h.station.lotsById.get(c.lot)!.lot.state).toBe("execute") },
  { name: "acknowledge alarm", method: "POST", setup: async () => ({ id: h.station.alarmManager.raise({ source: "cycler-1/5", condition: `ot-${++serialSeq}`, severity: "high", message: "over-temperature" }).id }),
    path: (c) => `/alarms/${c.id}/acknowledge`, allowed: ["operator", "supervisor", "admin"], okStatus: 200,
    unchanged: async (c) => expect(h.station.alarmManager.history().find((a) => a.id === c.id)!.state).toBe("active-unack") },
  { name: "shelve alarm", method: "POST", setup: async () => ({ id: h.station.alarmManager.raise({ source: "cycler-1/6", condition: `comm-${++serialSeq}`, severity: "low", message: "slow link" }).id }),
    path: (c) => `/alarms/${c.id}/shelve`, body: () => ({ reason: "maintenance on link", untilIso: new Date(Date.now() + 3600_000).toISOString() }), allowed: ["supervisor", "admin"], okStatus: 200,
    unchanged: async (c) => expect(h.station.alarmManager.history().find((a) => a.id === c.id)!.shelved).toBeUndefined() },
  { name: "validate recipe", method: "POST", path: () => "/recipes/validate", body: () => ({ yaml: recipeYaml("1.0.0") }), allowed: ["supervisor", "qa", "admin"], okStatus: 200 },
  { name: "publish recipe", method: "POST", path: () => "/recipes/factory_init/versions", body: () => ({ yaml: recipeYaml(`90.${++serialSeq}.0`) }), allowed: ["admin"], okStatus: 201,
    unchanged: async () => expect(readFileSync(path.join(h.dataDir, "config/recipes/factory_init.yaml"), "utf8")).not.toMatch(/^version: 90\./m) },
  { name: "validate rules", method: "POST", path: () => "/grading-rules/validate", body: () => ({ yaml: rulesYaml("1.0.0") }), allowed: ["supervisor", "qa", "admin"], okStatus: 200 },
  { name: "publish rules", method: "POST", path: () => "/grading-rules/second_life/versions", body: () => ({ yaml: rulesYaml(`1.${++serialSeq}.0`) }), allowed: ["admin"], okStatus: 201 },
  { name: "create user", method: "POST", path: () => "/users", body: () => ({ username: `user${++serialSeq}`, displayName: "New Operator", role: "operator", pin: "5678" }), allowed: ["admin"], okStatus: 201,
    unchanged: async () => expect(h.auth.users().map((u) => u.username).sort()).toEqual(["admin", "olga", "quinn", "sam"]) },
  { name: "update user", method: "PATCH", setup: async () => { const u = await h.auth.createUser({ username: `u${++serialSeq}`, displayName: "X", role: "operator", pin: "9999" }); return { u: u.username }; },
    path: (c) => `/users/${c.u}`, body: () => ({ role: "qa" }), allowed: ["admin"], okStatus: 200,
    unchanged: async (c) => expect(h.auth.users().find((u) => u.username === c.u)!.role).toBe("operator") },
  { name: "reset PIN", method: "POST", setup: async () => { const u = await h.auth.createUser({ username: `r${++serialSeq}`, displayName: "Y", role: "operator", pin: "9999" }); return { u: u.username }; },
    path: (c) => `/users/${c.u}/reset-pin`, body: () => ({ pin: "24680" }), allowed: ["admin"], okStatus: 200 },
];

describe("mutating endpoints: 401 / 403 / 2xx", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      for (const role of ALL) {
        const ctx = (await c.setup?.()) ?? {};
        const anonymous = await h.call(c.method, c.path(ctx), { body: c.body?.(ctx) });
        expect(anonymous.status, `${c.name} without session`).toBe(401);
        const res = await h.call(c.method, c.path(ctx), { cookie: cookies[role], body: c.body?.(ctx) });
        if (c.allowed.includes(role)) {
          expect(res.status, `${c.name} as ${role}: ${JSON.stringify(res.body)}`).toBe(c.okStatus);
        } else {
          expect(res.status, `${c.name} as ${role}`).toBe(403);
          await c.unchanged?.(ctx);
        }
      }
    });
  }

  it("read endpoints need a session; audit and users need their roles", async () => {
    expect((await h.call("GET", "/lots")).status).toBe(401);
    expect((await h.call("GET", "/lots", { cookie: cookies.qa })).status).toBe(200);
    expect((await h.call("GET", "/audit", { cookie: cookies.operator })).status).toBe(403);
    expect((await h.call("GET", "/audit", { cookie: cookies.qa })).status).toBe(200);
    expect((await h.call("GET", "/users", { cookie: cookies.supervisor })).status).toBe(403);
    expect((await h.call("GET", "/openapi.json")).status).toBe(200);
  });
});

describe("station effects", () => {
  it("the operator's name goes to the station, the audit log records who did what", async () => {
    const res = await h.call("POST", "/lots", { cookie: cookies.operator, body: startBody(["AUD-1", "AUD-2"], 7) });
    expect(res.status).toBe(201);
    expect(h.station.lotsById.get(res.body.id)!.lot.operator).toBe("olga");
    const entries = h.audit.query({ target: res.body.id });
    expect(entries.map((e) => `${e.actor}:${e.action}`)).toEqual(expect.arrayContaining(["olga:lot.start", "station:lot.state", "station:run.state"]));
    expect(h.audit.query({ action: "run.state" }).filter((e) => e.details.lotId === res.body.id)).toHaveLength(2);
  });

  it("a station refusal keeps its status (busy channel → 409, unknown lot → 404)", async () => {
    const busy = await h.call("POST", "/lots", { cookie: cookies.operator, body: startBody(["AUD-3"], 7) });
    expect(busy.status).toBe(409);
    expect(busy.body.error).toMatch(/channel 7 is busy/);
    expect((await h.call("POST", "/lots/lot-999/pause", { cookie: cookies.operator })).status).toBe(404);
    expect((await h.call("POST", "/alarms/no-such/acknowledge", { cookie: cookies.operator })).status).toBe(404);
  });
});
