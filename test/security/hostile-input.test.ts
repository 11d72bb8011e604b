/**
 * Hostile input against the real station: path traversal through every path parameter the API has (taken from
 * OpenAPI, so new routes are included), the static HMI and the export query; oversized, malformed and bomb-shaped
 * bodies. Each must get a clear 4xx, read nothing outside the data folder, and leave the server answering.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSecurityStation, type SecurityStation } from "./security-station.ts";

let s: SecurityStation;
let admin: string;
const CANARY = `canary-${process.pid}-${Date.now()}`;
let canaryDir: string;

beforeAll(async () => {
  s = await startSecurityStation();
  admin = await s.loginAs("admin");
  // A secret next to the data folder and one inside it that no endpoint serves: neither may ever come back.
  canaryDir = path.join(path.dirname(s.station.dataDir), `axviam-canary-${process.pid}`);
  mkdirSync(canaryDir, { recursive: true });
  writeFileSync(path.join(canaryDir, "secret.yaml"), `name: ${CANARY}\n`);
  writeFileSync(path.join(canaryDir, "secret.json"), JSON.stringify({ canary: CANARY }));
}, 60_000);
afterAll(async () => {
  rmSync(canaryDir, { recursive: true, force: true });
  await s?.close();
});

/** Nothing the server may send back: file contents from outside what the endpoint serves, or PIN hashes. */
const LEAKS = [/root:x?:0:0/, new RegExp(CANARY), /scrypt\$/, /pinHash/, /BEGIN PRIVATE KEY/];
const leaked = (text: string) => LEAKS.filter((re) => re.test(text)).map(String);

function traversalPayloads(): string[] {
  const rel = path.relative(path.resolve("station-config/recipes"), path.join(canaryDir, "secret"));
  return [
    "..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "..%2f..%2f..%2f..%2f..%2fetc%2fpasswd%00.yaml",
    "%2Fetc%2Fpasswd",
    encodeURIComponent(path.join(canaryDir, "secret")),
    encodeURIComponent(rel),
    "..%5C..%5C..%5Cusers",
    "%2e%2e%2f%2e%2e%2fusers",
    "%252e%252e%252f%252e%252e%252fusers",
    "....%2F%2F....%2F%2Fetc%2Fpasswd",
    "users%00",
    "factory_init%00..%2F..%2Fusers",
    "..",
    "%2e%2e",
    ".",
  ];
}

describe("path traversal", () => {
  it("every path parameter refuses traversal with 400/404 and leaks nothing", async () => {
    const doc = (await s.raw("GET", "/api/openapi.json")).json as { paths: Record<string, Record<string, unknown>> };
    const templates = Object.entries(doc.paths).filter(([p, ops]) => p.includes("{") && "get" in ops).map(([p]) => p);
    expect(templates.length).toBeGreaterThanOrEqual(8); // lots, export, cells, recipes (2), grading rules (2), certificates (2)
    const bad: string[] = [];
    for (const template of templates) {
      const params = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const payload of traversalPayloads()) {
        // each parameter in turn gets the payload; the others a harmless valid value
        for (const target of params) {
          const p = template.replace(/\{(\w+)\}/g, (_, name: string) => (name === target ? payload : name === "version" ? "1.0.0" : "factory_init"));
          const res = await s.raw("GET", `/api${p}`, { cookie: admin });
          if (![400, 404].includes(res.status) || leaked(res.text).length > 0) bad.push(`GET /api${p} → ${res.status} ${leaked(res.text).join(" ")}`);
        }
      }
    }
    expect(bad).toEqual([]);
  }, 60_000);

  it("query parameters naming a lot refuse traversal too", async () => {
    for (const payload of traversalPayloads()) {
      const res = await s.raw("GET", `/api/certificates?lot=${payload}`, { cookie: admin });
      expect(res.status, payload).toBe(400);
      expect(leaked(res.text)).toEqual([]);
    }
  });

  it("the static HMI and unknown API paths serve nothing from outside", async () => {
    for (const p of ["/..%2F..%2F..%2Fetc%2Fpasswd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2F..%2F..%2Fpackage.json", "/api/..%2F..%2Fetc%2Fpasswd", "/index.html%00.js"]) {
      const res = await s.raw("GET", p, { cookie: admin });
      expect(res.status, p).not.toBe(500);
      expect(leaked(res.text), p).toEqual([]);
      expect(res.text, p).not.toMatch(/"name": "axviam-station"/);
    }
  });

  it("ids that reach file names are refused when a lot is started (serial with a path or NUL)", async () => {
    for (const serial of ["../../evil", "a/b", "x\u0000y", "..", "C:\\evil"]) {
      const res = await s.raw("POST", "/api/lots", { cookie: admin, body: { name: "t", recipe: "factory_init", cyclerId: "cycler-1", nominalCapacityAh: 5, chemistry: "nmc811-graphite", cells: [{ slot: 1, serial }] } });
      expect(res.status, JSON.stringify(serial)).toBe(400);
      expect(res.json.issues, JSON.stringify(serial)).toContainEqual({ path: "cells.0.serial", message: expect.stringMatching(/letters, digits/) });
    }
  });
});

describe("bodies", () => {
  const validate = (body: unknown, contentType?: string, extra: { cookie?: string } = {}) =>
    s.raw("POST", "/api/recipes/validate", { cookie: extra.cookie ?? admin, body, contentType });

  it("a YAML billion-laughs recipe is refused quickly with a message", async () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(",")}]`);
    const started = Date.now();
    const res = await validate({ yaml: lines.join("\n") });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/alias/i);
  });

  it("deeply nested YAML and JSON are refused with 400, not a crash", async () => {
    const yaml = await validate({ yaml: `${"[".repeat(50_000)}${"]".repeat(50_000)}` });
    expect(yaml.status).toBe(400);
    const json = await validate(`{"yaml":"x","deep":${"[".repeat(200_000)}${"]".repeat(200_000)}}`);
    expect(json.status).toBe(400);
  });

  it("a 10 MB body is refused with 413 before it is parsed", async () => {
    const big = JSON.stringify({ yaml: "x".repeat(10 * 1024 * 1024) });
    const res = await validate(big);
    expect(res.status).toBe(413);
    expect(res.json.error).toMatch(/larger than/);
    const login = await s.raw("POST", "/api/auth/login", { body: JSON.stringify({ user: "admin", pin: "1".repeat(2 * 1024 * 1024) }) });
    expect(login.status).toBe(413);
  });

  it("a gzip bomb is refused with 413 after at most the limit is inflated", async () => {
    const bomb = gzipSync(Buffer.concat([Buffer.from('{"yaml":"'), Buffer.alloc(50 * 1024 * 1024, 0x41), Buffer.from('"}')]));
    expect(bomb.length).toBeLessThan(200 * 1024);
    const res = await new Promise<number>((resolve, reject) => {
      import("node:http").then(({ request }) => {
        const req = request({ host: "127.0.0.1", port: s.station.port, method: "POST", path: "/api/recipes/validate", headers: { cookie: admin, "content-type": "application/json", "content-encoding": "gzip", "content-length": bomb.length } }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end(bomb);
      }, reject);
    });
    expect(res).toBe(413);
  });

  it("malformed JSON, wrong content types and charsets get clear 4xx answers", async () => {
    const malformed = await validate('{"yaml": "name: x",', "application/json");
    expect(malformed).toMatchObject({ status: 400, json: { error: "request body is not valid JSON" } });
    // not JSON at all: the body is not parsed, so validation names the missing body
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x"]) {
      const res = await validate("yaml=name%3A+x", type);
      expect(res.status, type).toBe(400);
      expect(res.json.issues?.[0]?.path ?? res.json.error, type).toBeTruthy();
    }
    const latin1 = await validate('{"yaml":"x"}', "application/json; charset=iso-8859-1");
    expect(latin1).toMatchObject({ status: 415, json: { error: "unsupported charset: send UTF-8 JSON" } });
    const types = await s.raw("POST", "/api/auth/login", { body: { user: ["admin"], pin: { $gt: "" } } });
    expect(types.status).toBe(400);
    expect(types.json.issues.map((i: { path: string }) => i.path).sort()).toEqual(["pin", "user"]);
  });

  it("the server is still up and answers normally afterwards", async () => {
    expect((await s.raw("GET", "/api/health")).json.ok).toBe(true);
    const res = await validate({ yaml: "name: x" });
    expect(res.status).toBe(400);
    expect(res.json.issues.length).toBeGreaterThan(0);
  });
});
