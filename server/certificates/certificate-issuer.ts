/**
 * The station's certificate desk: issues one signed certificate per finished cell of a lot
 * (idempotent per run), reprints, lists, verifies and exports a lot.
 *
 * Index (lowdb), partitioned so no write rewrites the world (DESIGN §8):
 *   <dataDir>/certificates/index.json          certificate id → lot id (small rows, one write per issued lot)
 *   <dataDir>/certificates/<lot>/index.json    the lot's entries: id, serial, run, kind, decision, paths, issuedAt
 * The PDF and signed JSON are written by certificate.service.ts; the passport next to them.
 */
import { randomUUID } from "node:crypto";
import { readdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Low } from "lowdb";
import type { GradingRules } from "../domain/grading/grading-rules.schema.ts";
import type { CellGrade, LotGrade } from "../domain/grading/lot-grading.ts";
import type { Imprint } from "../domain/imprint/imprint.ts";
import type { SecondLifeGrade } from "../domain/second-life/grade.ts";
import type { Logger } from "../log/logger.ts";
import type { Lot, Run } from "../station/run.types.ts";
import type { LotDetail } from "../station/station-service.ts";
import { openJsonFile } from "../store/json-file.ts";
import { assertSafeName, certificatesDir, issueCertificate, reprint as reprintPdf } from "./certificate.service.ts";
import { signedCertificateSchema, type CertificateContent, type SignedCertificate } from "./certificate.types.ts";
import { imprintCertificateContent, passportFromResults, secondLifeCertificateContent, type CellResults } from "./content-from-results.ts";
import { buildLotArchive } from "./lot-archive.ts";
import { loadOrCreateKeyPair, loadRetiredPublicKeys, verify, type StationKeyPair } from "./signing.ts";
import { verifyCertificate, type VerificationResult } from "./verify.ts";

export interface CertificateEntry {
  id: string;
  serial: string;
  lotId: string;
  runId: string;
  kind: CertificateContent["kind"];
  /** e.g. "bin: A", "route: Stationary storage A" */
  decision: string;
  simulated: boolean;
  issuedAt: string;
  reprintedAt?: string;
  /** relative to <dataDir>/certificates */
  paths: { pdf: string; json: string; passport?: string };
}

export interface IssueOutcome {
  issued: CertificateEntry[];
  /** cells that already had a certificate for their run */
  existing: CertificateEntry[];
  /** finished cells without a certificate, and why */
  skipped: { serial: string; runId: string; reason: string }[];
}

export interface CertificateIssuerOptions {
  dataDir: string;
  stationId: string;
  stationName: string;
  log: Logger;
  /** the lot grading rules, for the limits printed next to imprint figures (LotGrade keeps only their name and version) */
  gradingRules?: (lot: Lot, rules: { name: string; version: string }) => GradingRules | undefined;
  /** the cell's latest imprint, overlaid on its second-life curves */
  findImprint?: (serial: string) => Promise<Imprint | undefined>;
  /** issue time; default the wall clock */
  now?: () => Date;
}

export interface CertificateIssuer {
  /** Issues a certificate for every complete run of the lot that has a result and none yet. */
  issueForLot(detail: LotDetail): Promise<IssueOutcome>;
  /** Renders the PDF again from the stored signed JSON; returns the PDF. */
  reprint(id: string): Promise<{ entry: CertificateEntry; pdf: Buffer }>;
  list(lotId?: string): Promise<CertificateEntry[]>;
  entry(id: string): Promise<CertificateEntry>;
  signed(id: string): Promise<SignedCertificate>;
  pdf(id: string): Promise<Buffer>;
  verify(input: Buffer): Promise<VerificationResult>;
  publicKeyPem(): string;
  /** zip: PDFs, signed JSON, passports, summary.csv */
  exportLot(lotId: string): Promise<Buffer>;
}

export class CertificateNotFoundError extends Error {
  constructor(what: string) {
    super(`${what} not found`);
    this.name = "CertificateNotFoundError";
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type StoredResult = ({ kind: "imprint" } & Imprint) | ({ kind: "second-life" } & SecondLifeGrade);
type StoredLotResult = { kind: "imprint" } & LotGrade;

function isStoredResult(value: unknown): value is StoredResult {
  const v = value as Partial<StoredResult> | undefined;
  return typeof v === "object" && v !== null && (v.kind === "imprint" || v.kind === "second-life") && typeof v.serial === "string";
}

function isLotGrade(value: unknown): value is StoredLotResult {
  const v = value as Partial<StoredLotResult> | undefined;
  return typeof v === "object" && v !== null && v.kind === "imprint" && Array.isArray(v.perCell);
}

export async function createCertificateIssuer(o: CertificateIssuerOptions): Promise<CertificateIssuer> {
  const keys: StationKeyPair = await loadOrCreateKeyPair(o.dataDir);
  // certificates signed before a key rotation stay verifiable
  const retiredKeys = await loadRetiredPublicKeys(o.dataDir);
  const root = certificatesDir(o.dataDir);
  const byId = await openJsonFile<{ certificates: Record<string, string> }>(path.join(root, "index.json"), { certificates: {} });
  const lotIndexes = new Map<string, Low<{ entries: CertificateEntry[] }>>();
  const now = o.now ?? (() => new Date());
  const station = { id: o.stationId, name: o.stationName };
  // One issue/reprint at a time: idempotence is a read-then-write on the index.
  let queue: Promise<unknown> = Promise.resolve();
  const serialised = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  };

  const lotIndex = async (lotId: string) => {
    assertSafeName("lot", lotId);
    let db = lotIndexes.get(lotId);
    if (!db) {
      db = await openJsonFile(path.join(root, lotId, "index.json"), { entries: [] as CertificateEntry[] });
      lotIndexes.set(lotId, db);
    }
    return db;
  };

  const entry = async (id: string): Promise<CertificateEntry> => {
    if (!UUID.test(id)) throw new CertificateNotFoundError(`certificate ${JSON.stringify(id)}`);
    const lotId = byId.data.certificates[id];
    const found = lotId === undefined ? undefined : (await lotIndex(lotId)).data.entries.find((e) => e.id === id);
    if (!found) throw new CertificateNotFoundError(`certificate ${id}`);
    return found;
  };

  const readSigned = async (e: CertificateEntry): Promise<SignedCertificate> =>
    signedCertificateSchema.parse(JSON.parse(await readFile(path.join(root, e.paths.json), "utf8")));

  /**
   * A certificate this station signed for the cell in this lot but never indexed: the station stopped between
   * writing it and writing the lot's index. It is adopted (PDF rendered again from it), so a cell never gets two.
   */
  const unindexedFor = async (lotId: string, serial: string): Promise<SignedCertificate | undefined> => {
    const dir = path.join(root, lotId);
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const f of files.filter((x) => x.startsWith(`${serial}-`) && x.endsWith(".json") && !x.endsWith(".passport.json"))) {
      let signed: SignedCertificate;
      try {
        signed = signedCertificateSchema.parse(JSON.parse(await readFile(path.join(dir, f), "utf8")));
      } catch {
        continue; // not a certificate of ours (written atomically, so never a torn one)
      }
      const { identity } = signed.content;
      if (identity.serial === serial && identity.lot === lotId && verify(signed, keys.publicKey)) return signed;
    }
    return undefined;
  };

  const contentFor = async (lot: Lot, run: Run, result: StoredResult, lotResult: unknown): Promise<{ content: CertificateContent; cell: CellResults }> => {
    const meta = { id: randomUUID(), issuedAt: now().toISOString(), station, lot, run };
    if (result.kind === "imprint") {
      if (!isLotGrade(lotResult)) throw new Error("the lot has no grading result");
      const grade: CellGrade | undefined = lotResult.perCell.find((g) => g.serial === run.serial);
      if (!grade) throw new Error("the lot grading has no grade for this cell");
      const rules = o.gradingRules?.(lot, lotResult.rules);
      return { content: imprintCertificateContent(meta, result, grade, rules), cell: { kind: "imprint", imprint: result, grade } };
    }
    const imprint = await o.findImprint?.(run.serial);
    return { content: secondLifeCertificateContent(meta, result, imprint), cell: { kind: "second-life", grade: result, ...(imprint ? { imprint } : {}) } };
  };

  const issueForLot = (detail: LotDetail) =>
    serialised(async (): Promise<IssueOutcome> => {
      const { lot } = detail;
      const index = await lotIndex(lot.id);
      const outcome: IssueOutcome = { issued: [], existing: [], skipped: [] };
      for (const run of detail.runs.filter((r) => r.state === "complete")) {
        const already = index.data.entries.find((e) => e.runId === run.id);
        if (already) {
          outcome.existing.push(already);
          continue;
        }
        const result = detail.results[run.serial];
        if (!isStoredResult(result)) {
          outcome.skipped.push({ serial: run.serial, runId: run.id, reason: "no analysis result stored for the cell" });
          continue;
        }
        try {
          const { content: fresh, cell } = await contentFor(lot, run, result, detail.lotResult);
          const adopted = await unindexedFor(lot.id, run.serial);
          const content = adopted?.content ?? fresh;
          const issued = adopted ? await reprintPdf(adopted.content.id, keys, o.dataDir) : await issueCertificate(fresh, keys, o.dataDir);
          if (adopted) o.log.warn({ lot: lot.id, serial: run.serial, certificate: content.id }, "adopted a certificate signed before the station stopped, not yet indexed");
          const passport = passportFromResults({ lot, run, station, certificateId: content.id }, cell);
          const passportPath = issued.jsonPath.replace(/\.json$/, ".passport.json");
          await writeFile(`${passportPath}.tmp`, `${JSON.stringify(passport, null, 2)}\n`);
          await rename(`${passportPath}.tmp`, passportPath);
          const e: CertificateEntry = {
            id: content.id,
            serial: run.serial,
            lotId: lot.id,
            runId: run.id,
            kind: content.kind,
            decision: `${content.decision.kind}: ${content.decision.value}`,
            simulated: content.simulated,
            issuedAt: content.issuedAt,
            paths: { pdf: path.relative(root, issued.pdfPath), json: path.relative(root, issued.jsonPath), passport: path.relative(root, passportPath) },
          };
          index.data.entries.push(e);
          byId.data.certificates[e.id] = lot.id;
          outcome.issued.push(e);
        } catch (error) {
          const reason = (error as Error).message;
          o.log.warn({ lot: lot.id, run: run.id, serial: run.serial, err: reason }, "certificate not issued");
          outcome.skipped.push({ serial: run.serial, runId: run.id, reason });
        }
      }
      if (outcome.issued.length > 0) {
        // Lot partition first: an id in the top-level map always resolves to an entry.
        await index.write();
        await byId.write();
      }
      o.log.info({ lot: lot.id, issued: outcome.issued.length, existing: outcome.existing.length, skipped: outcome.skipped.length }, "certificates issued");
      return outcome;
    });

  return {
    issueForLot,
    reprint: (id) =>
      serialised(async () => {
        const e = await entry(id);
        const reprinted = await reprintPdf(id, keys, o.dataDir);
        e.reprintedAt = now().toISOString();
        await (await lotIndex(e.lotId)).write();
        o.log.info({ certificate: id, serial: e.serial }, "certificate reprinted");
        return { entry: e, pdf: await readFile(reprinted.pdfPath) };
      }),
    async list(lotId) {
      const lots = lotId === undefined ? [...new Set(Object.values(byId.data.certificates))].sort() : [lotId];
      const out: CertificateEntry[] = [];
      for (const l of lots) out.push(...(await lotIndex(l)).data.entries);
      return out;
    },
    entry,
    signed: async (id) => readSigned(await entry(id)),
    async pdf(id) {
      return readFile(path.join(root, (await entry(id)).paths.pdf));
    },
    verify: (input) => verifyCertificate(input, [keys.publicKey, ...retiredKeys]),
    publicKeyPem: () => keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    async exportLot(lotId) {
      const entries = (await lotIndex(lotId)).data.entries;
      if (entries.length === 0) throw new CertificateNotFoundError(`certificates of lot ${lotId}`);
      const cells = [];
      for (const e of entries) {
        const signed = await readSigned(e);
        const pdf = await readFile(path.join(root, e.paths.pdf));
        const passport = e.paths.passport ? JSON.parse(await readFile(path.join(root, e.paths.passport), "utf8")) : undefined;
        cells.push({ signed, pdf, passport });
      }
      return buildLotArchive(lotId, cells);
    },
  };
}
