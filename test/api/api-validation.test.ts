/** Input validation (400 with field paths), recipe/rule versioning, and the OpenAPI document against the router. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiRouter } from "../../server/api/api-router.ts";
import { startHarness, type Harness } from "./api-harness.ts";

let h: Harness;
let admin: string;
let operator: string;
beforeAll(async () => {
  h = await startHarness();
  admin = await h.loginAs("admin");
  operator = await h.loginAs("operator");
});
afterAll(async () => h.close());

const validLot = { name: "L1", recipe: "factory_init", cyclerId: "cycler-1", cells: [{ slot: 1, serial: "A1" }, { slot: 2, serial: "A2" }], nominalCapacityAh: 5, chemistry: "nmc811-graphite" };
const paths = (body: { issues: { path: string }[] }) => body.issues.map((i) => i.path);

describe("validation", () => {
  it("names the failing fields", async () => {
    const empty = await h.call("POST", "/lots", { cookie: operator, body: { ...validLot, cells: [{ slot: 1, serial: "A1" }, { slot: 2, serial: "" }] } });
    expect(empty.status).toBe(400);
    expect(paths(empty.body)).toEqual(["cells.1.serial"]);
    const dup = await h.call("POST", "/lots", { cookie: operator, body: { ...validLot, cells: [{ slot: 1, serial: "A1" }, { slot: 1, serial: "A1" }] } });
    expect(paths(dup.body).sort()).toEqual(["cells.1.serial", "cells.1.slot"]);
    const chem = await h.call("POST", "/lots", { cookie: operator, body: { ...validLot, chemistry: "lco", extra: 1 } });
    expect(paths(chem.body).sort()).toEqual(["(body)", "chemistry"]);
    const shelve = await h.call("POST", "/alarms/x/shelve", { cookie: admin, body: { reason: " ", untilIso: "2001-01-01T00:00:00Z" } });
    expect(paths(shelve.body).sort()).toEqual(["reason", "untilIso"]);
    const limit = await h.call("GET", "/alarms/history?limit=0", { cookie: operator });
    expect(paths(limit.body)).toEqual(["query.limit"]);
    expect(h.station.lotsById.size).toBe(0);
  });

  it("answers 400 on malformed JSON and 401 before validating anonymous input", async () => {
    const res = await h.call("POST", "/lots", { cookie: operator, body: "{not json" });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/not valid JSON/);
    expect((await h.call("POST", "/lots", { body: { nonsense: true } })).status).toBe(401);
  });

  it("recipe validation names the phase and step", async () => {
    const yaml = readFileSync(path.join(h.dataDir, "config/recipes/factory_init.yaml"), "utf8").replace("CC discharge 0.2C to 2.5 V log every 60 s on 5 mV", "CC discharge fast please");
    const res = await h.call("POST", "/recipes/validate", { cookie: admin, body: { yaml } });
    expect(res.status).toBe(400);
    const firstPhase = /^ {2}- name: (\S+)$/m.exec(yaml)![1];
    expect(res.body.error).toContain(`phase "${firstPhase}", step 4 ("CC discharge fast please")`);
    const rules = await h.call("POST", "/grading-rules/validate", { cookie: admin, body: { yaml: "version: 1.0\nreference: {}\n" } });
    expect(rules.status).toBe(400);
    expect(paths(rules.body)).toContain("version");
  });
});

describe("recipe versions", () => {
  const recipeFile = () => path.join(h.dataDir, "config/recipes/factory_init.yaml");
  it("publishes newer versions, keeps every published one, never overwrites", async () => {
    const v1 = readFileSync(recipeFile(), "utf8");
    const shipped = /^version: (\S+)$/m.exec(v1)![1];
    const v11 = v1.replace(/^version: \S+$/m, "version: 90.1.0");
    expect((await h.call("POST", "/recipes/factory_init/versions", { cookie: admin, body: { yaml: v11 } })).status).toBe(201);
    expect(readFileSync(recipeFile(), "utf8")).toBe(v11);
    const current = await h.call("GET", "/recipes/factory_init", { cookie: operator });
    expect(current.body).toMatchObject({ name: "factory_init", version: "90.1.0", versions: [shipped, "90.1.0"] });
    expect((await h.call("GET", `/recipes/factory_init/versions/${shipped}`, { cookie: operator })).body.yaml).toBe(v1);
    const again = await h.call("POST", "/recipes/factory_init/versions", { cookie: admin, body: { yaml: v11.replace("Formation charge", "Changed formation charge") } });
    expect(again.status).toBe(409);
    expect((await h.call("POST", "/recipes/factory_init/versions", { cookie: admin, body: { yaml: v1 } })).status).toBe(409);
    expect((await h.call("GET", "/recipes/factory_init/versions/90.1.0", { cookie: operator })).body.yaml).toBe(v11);
    const renamed = await h.call("POST", "/recipes/other/versions", { cookie: admin, body: { yaml: v11 } });
    expect(renamed.status).toBe(400);
    expect(paths(renamed.body)).toEqual(["name"]);
    expect((await h.call("GET", "/recipes/..%2Fusers/versions/1.0.0", { cookie: operator })).status).toBe(404);
    expect(h.audit.query({ action: "recipe.publish" })[0]).toMatchObject({ actor: "admin", target: "factory_init", details: { version: "90.1.0" } });
  });
});

describe("OpenAPI", () => {
  it("lists every mounted route with its method", async () => {
    const doc = (await h.call("GET", "/openapi.json")).body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe("3.1.0");
    const { router } = createApiRouter({ station: h.station, auth: h.auth, audit: h.audit, recipesDir: h.dataDir, gradingRulesDir: h.dataDir, log: (await import("../../server/log/logger.ts")).silentLogger() });
    const mounted = (router.stack as { route?: { path: string; methods: Record<string, boolean> } }[])
      .filter((l) => l.route)
      .flatMap((l) => Object.keys(l.route!.methods).filter((m) => m !== "_all").map((m) => `${m} ${l.route!.path.replace(/:(\w+)/g, "{$1}")}`));
    expect(mounted.length).toBeGreaterThan(30);
    for (const route of mounted) {
      const [method, p] = route.split(" ");
      expect(doc.paths[p]?.[method], `${route} is missing from openapi.json`).toBeDefined();
    }
    const described = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    // served by the HTTP edge itself, and by the certificate and plant-proxy routers (mounted next to this one; test/security sweeps all)
    const besides = (d: string) => !mounted.includes(d) && !d.includes("/certificates") && !d.includes(" /plant/") && d !== "get /lots/{lotId}/export";
    expect(described.filter(besides).sort()).toEqual(["get /channels", "get /health"]);
    expect(doc.paths["/lots"].post).toMatchObject({ "x-roles": ["operator", "supervisor", "admin"] });
  });
});
