/**
 * Certificates over HTTP on an ephemeral port: the router mounted as the station edge would (express.json first,
 * as server/api/http-server.ts does), with the real auth service behind sessionRoles.
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import express from "express";
import JSZip from "jszip";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certificateRoutes, sessionRoles } from "../../server/api/certificates.routes.ts";
import { SESSION_COOKIE } from "../../server/api/api-context.ts";
import { createAuthService } from "../../server/auth/auth.service.ts";
import type { Role } from "../../server/auth/permissions.ts";
import { createCertificateIssuer, type CertificateEntry } from "../../server/certificates/certificate-issuer.ts";
import { silentLogger } from "../../server/log/logger.ts";
import { gradingRules, imprintLot } from "../certificates/results-fixture.ts";

let dataDir: string;
let server: Server;
let base: string;
let entries: CertificateEntry[];
const cookies = {} as Record<Role, string>;
const { lot, runs, imprints, grade } = imprintLot();

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "axviam-cert-api-"));
  const issuer = await createCertificateIssuer({ dataDir, stationId: "st-01", stationName: "AXVIAM Station 01", log: silentLogger(), gradingRules: () => gradingRules });
  entries = (
    await issuer.issueForLot({
      lot,
      runs,
      results: Object.fromEntries(imprints.map((imp) => [imp.serial, { kind: "imprint", ...imp }])),
      lotResult: { kind: "imprint", ...grade },
      phases: [],
    })
  ).issued;
  const auth = await createAuthService(dataDir, { initialAdminPin: "907531" });
  await auth.changePin("admin", "907531", "4444");
  for (const role of ["operator", "qa"] as const) {
    await auth.createUser({ username: role, displayName: role, role, pin: "11110" });
    await auth.changePin(role, "11110", "1111");
  }
  for (const [role, user, pin] of [["operator", "operator", "1111"], ["qa", "qa", "1111"], ["admin", "admin", "4444"]] as const) {
    cookies[role] = `${SESSION_COOKIE}=${(await auth.login(user, pin, "127.0.0.1")).token}`;
  }
  const app = express();
  app.use(express.json({ limit: "1mb" }));
  app.use(certificateRoutes({ issuer, requireRole: sessionRoles(auth) }));
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dataDir, { recursive: true, force: true });
});

const get = (p: string, role?: Role) => fetch(`${base}${p}`, { headers: role ? { cookie: cookies[role] } : {} });
const post = (p: string, body?: Buffer | string, opts: { role?: Role; type?: string } = {}) =>
  fetch(`${base}${p}`, { method: "POST", body: typeof body === "string" || body === undefined ? body : new Uint8Array(body), headers: { ...(opts.role ? { cookie: cookies[opts.role] } : {}), ...(opts.type ? { "content-type": opts.type } : {}) } });

describe("certificate REST API", () => {
  it("round trip: list → download PDF → verify says authentic; tampered JSON is not", async () => {
    const list = await (await get(`/api/certificates?lot=${lot.id}`, "operator")).json();
    expect(list.map((e: CertificateEntry) => e.serial)).toEqual(["CELL-0001", "CELL-0002", "CELL-0003", "CELL-0004"]);
    const pdfRes = await get(`/api/certificates/${entries[0].id}/pdf`, "operator");
    expect(pdfRes.status).toBe(200);
    expect(pdfRes.headers.get("content-type")).toBe("application/pdf");
    const pdf = Buffer.from(await pdfRes.arrayBuffer());
    const verdict = await (await post("/api/certificates/verify", pdf, { type: "application/pdf" })).json();
    expect(verdict).toMatchObject({ authentic: true, unmodified: true, format: "pdf", serial: "CELL-0001", grade: "bin: A", simulated: true });

    const signed = await (await get(`/api/certificates/${entries[0].id}`, "qa")).json();
    const asJson = await (await post("/api/certificates/verify", JSON.stringify(signed), { type: "application/json" })).json();
    expect(asJson).toMatchObject({ authentic: true, format: "json", serial: "CELL-0001" });
    signed.content.decision.value = "B";
    const tampered = await (await post("/api/certificates/verify", JSON.stringify(signed), { type: "application/json" })).json();
    expect(tampered).toMatchObject({ authentic: false, unmodified: false, reason: "signature does not match the certificate content" });
    // one changed byte in the PDF (in the attachment's file specification)
    const flipped = Buffer.from(pdf);
    const at = flipped.indexOf("certificate.json") + 2;
    flipped[at] ^= 1;
    const pdfVerdict = await (await post("/api/certificates/verify", flipped, { type: "application/octet-stream" })).json();
    expect(pdfVerdict.authentic && pdfVerdict.unmodified).toBe(false);
  });

  it("serves the public key that verifies the certificates, without a session", async () => {
    const res = await get("/api/certificates/public-key");
    expect(res.status).toBe(200);
    const pem = await res.text();
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const { verify } = await import("../../server/certificates/signing.ts");
    const signed = await (await get(`/api/certificates/${entries[1].id}`, "operator")).json();
    expect(verify(signed, pem)).toBe(true);
  });

  it("rejects traversal and malformed ids before any lookup", async () => {
    for (const p of ["/api/certificates/..%2F..%2Fkeys%2Fcertificate-signing.key.pem/pdf", "/api/certificates/not-a-uuid", "/api/certificates?lot=..%2Fkeys", "/api/lots/..%2Fkeys/export", "/api/lots/.hidden/export"]) {
      const res = await get(p, "admin");
      expect([400, 404], p).toContain(res.status);
      expect(await res.text()).not.toContain("PRIVATE KEY");
    }
    expect((await get("/api/certificates/0b8e7c1a-1111-4a2b-9c3d-0000000000ff", "admin")).status).toBe(404);
    expect((await get("/api/certificates/../../keys/certificate-signing.key.pem", "admin")).status).toBe(404);
  });

  it("checks roles: download needs a session, reprint and export need QA or admin", async () => {
    expect((await get(`/api/certificates/${entries[0].id}/pdf`)).status).toBe(401);
    expect((await post(`/api/certificates/${entries[0].id}/reprint`, undefined, { role: "operator" })).status).toBe(403);
    expect((await get(`/api/lots/${lot.id}/export`, "operator")).status).toBe(403);
    const reprint = await post(`/api/certificates/${entries[0].id}/reprint`, undefined, { role: "qa" });
    expect(reprint.status).toBe(200);
    const original = Buffer.from(await (await get(`/api/certificates/${entries[0].id}/pdf`, "qa")).arrayBuffer());
    expect(Buffer.from(await reprint.arrayBuffer()).equals(original)).toBe(true);
  });

  it("exports the lot as a zip with every certificate and passport", async () => {
    const res = await get(`/api/lots/${lot.id}/export`, "admin");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    const zip = await JSZip.loadAsync(Buffer.from(await res.arrayBuffer()));
    expect(zip.file(new RegExp(`^${lot.id}/certificates/.*\\.pdf$`))).toHaveLength(4);
    expect(zip.file(new RegExp(`^${lot.id}/passports/.*\\.passport\\.json$`))).toHaveLength(4);
    expect(zip.file(`${lot.id}/summary.csv`)).not.toBeNull();
    expect((await get("/api/lots/20991231-00000000/export", "admin")).status).toBe(404);
  });

  it("answers 400 for an empty verify body and 413 beyond 10 MB", async () => {
    expect((await post("/api/certificates/verify", Buffer.alloc(0), { type: "application/pdf" })).status).toBe(400);
    expect((await post("/api/certificates/verify", Buffer.alloc(11 * 1024 * 1024, 32), { type: "application/pdf" })).status).toBe(413);
  });
});
