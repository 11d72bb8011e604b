/**
 * Certificates over REST (DESIGN §10), a self-contained router with absolute /api paths:
 *   GET  /api/certificates?lot=<lotId>     list (index entries)                       any signed-in role
 *   GET  /api/certificates/public-key      the station's Ed25519 public key (PEM)     public
 *   GET  /api/certificates/:id             signed JSON                                any signed-in role
 *   GET  /api/certificates/:id/pdf         the PDF                                    any signed-in role
 *   POST /api/certificates/:id/reprint     render again from the signed JSON → PDF    qa, admin
 *   POST /api/certificates/verify          body: PDF or JSON (≤ 10 MB) → verdict      public
 *   GET  /api/lots/:lotId/export           zip of the lot's certificates              qa, admin
 * Mount it on the app before the API router (its verify and public-key routes are public):
 *   app.use(certificateRoutes({ issuer, requireRole: sessionRoles(auth) }));
 * Ids are validated before any lookup: certificate ids must be UUIDs, lot ids safe names, so no
 * request can name a path outside the certificate folder.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from "express";
import type { AuthService } from "../auth/auth.service.ts";
import { PERMISSIONS, type Role } from "../auth/permissions.ts";
import { CertificateStoreError } from "../certificates/certificate.service.ts";
import { CertificateNotFoundError, type CertificateIssuer } from "../certificates/certificate-issuer.ts";
import { LotArchiveError } from "../certificates/lot-archive.ts";
import { authenticated } from "./api-context.ts";

export interface CertificateRouteDeps {
  issuer: CertificateIssuer;
  /** middleware admitting only these roles (and answering 401 without a session); omitted = no access control (tests, kiosk without auth) */
  requireRole?: (roles: readonly Role[]) => RequestHandler;
}

export const VERIFY_BODY_LIMIT = "10mb";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SAFE_LOT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// The same permissions as the rest of the API (server/auth/permissions.ts), so OpenAPI's x-roles stay true.
const READ: readonly Role[] = PERMISSIONS["station.read"];
const QA: readonly Role[] = PERMISSIONS["certificate.manage"];

/** requireRole backed by the station's sessions (server/auth): 401 without a session, 403 for another role. */
export function sessionRoles(auth: AuthService): (roles: readonly Role[]) => RequestHandler {
  return (roles) => {
    const signedIn = authenticated(auth);
    return (req, res, next) =>
      signedIn(req, res, () => {
        const role = (res.locals.user as { role: Role }).role;
        if (!roles.includes(role)) return void res.status(403).json({ error: `role ${role} may not do this` });
        next();
      });
  };
}

class BadIdError extends Error {}

function certificateId(req: Request): string {
  const id = String(req.params.id).toLowerCase();
  if (!UUID.test(id)) throw new BadIdError(`certificate id ${JSON.stringify(req.params.id)} is not a UUID`);
  return id;
}

function lotId(value: unknown, field: string): string {
  if (typeof value !== "string" || !SAFE_LOT.test(value) || value.includes("..")) throw new BadIdError(`${field} ${JSON.stringify(value)} is not a lot id`);
  return value;
}

function sendPdf(res: Response, pdf: Buffer, name: string): void {
  res.setHeader("Content-Type", "application/pdf");
  res.setHeader("Content-Disposition", `inline; filename="${name}"`);
  res.send(pdf);
}

export function certificateRoutes(deps: CertificateRouteDeps): Router {
  const { issuer } = deps;
  const r = express.Router();
  const gate = (roles: readonly Role[]): RequestHandler[] => (deps.requireRole ? [deps.requireRole(roles)] : []);

  r.get("/api/certificates/public-key", (_req, res) => {
    res.type("application/x-pem-file").send(issuer.publicKeyPem());
  });

  // Any content type: a PDF arrives as bytes. A JSON body may already have been parsed by the app's express.json().
  r.post("/api/certificates/verify", express.raw({ type: () => true, limit: VERIFY_BODY_LIMIT }), async (req, res) => {
    const body: unknown = req.body;
    const input = Buffer.isBuffer(body) ? body : body !== undefined && typeof body === "object" ? Buffer.from(JSON.stringify(body)) : Buffer.alloc(0);
    if (input.length === 0) return void res.status(400).json({ error: "send the certificate PDF or JSON as the request body" });
    const v = await issuer.verify(input);
    res.json({ authentic: v.authentic, unmodified: v.unmodified, format: v.format, id: v.id, serial: v.serial, grade: v.gradeSummary, simulated: v.simulated, reason: v.reason });
  });

  r.get("/api/certificates", ...gate(READ), async (req, res) => {
    const lot = req.query.lot === undefined ? undefined : lotId(req.query.lot, "lot");
    res.json(await issuer.list(lot));
  });

  r.get("/api/certificates/:id", ...gate(READ), async (req, res) => {
    res.json(await issuer.signed(certificateId(req)));
  });

  r.get("/api/certificates/:id/pdf", ...gate(READ), async (req, res) => {
    const id = certificateId(req);
    const e = await issuer.entry(id);
    sendPdf(res, await issuer.pdf(id), `${e.serial}-${id}.pdf`);
  });

  r.post("/api/certificates/:id/reprint", ...gate(QA), async (req, res) => {
    const { entry, pdf } = await issuer.reprint(certificateId(req));
    sendPdf(res, pdf, `${entry.serial}-${entry.id}.pdf`);
  });

  r.get("/api/lots/:lotId/export", ...gate(QA), async (req, res) => {
    const lot = lotId(req.params.lotId, "lot id");
    const zip = await issuer.exportLot(lot);
    res.setHeader("Content-Type", "application/zip");
    res.setHeader("Content-Disposition", `attachment; filename="${lot}-certificates.zip"`);
    res.send(zip);
  });

  r.use("/api", (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err instanceof BadIdError) return void res.status(400).json({ error: err.message });
    if (err instanceof CertificateNotFoundError) return void res.status(404).json({ error: err.message });
    if (err instanceof CertificateStoreError || err instanceof LotArchiveError) return void res.status(409).json({ error: err.message });
    const e = err as { type?: string; status?: number };
    if (e.type === "entity.too.large") return void res.status(413).json({ error: `request body larger than ${VERIFY_BODY_LIMIT}` });
    next(err);
  });
  return r;
}
