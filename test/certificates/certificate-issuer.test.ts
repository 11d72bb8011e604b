import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import JSZip from "jszip";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateIssuer, type CertificateIssuer } from "../../server/certificates/certificate-issuer.ts";
import { formatFigure } from "../../server/certificates/pdf-renderer.ts";
import { silentLogger } from "../../server/log/logger.ts";
import type { LotDetail } from "../../server/station/station-service.ts";
import { requireTools } from "../support/tools.ts";
import { gradingRules, imprintLot, imprintOf, lotOf, runOf, secondLifeGradeOf } from "./results-fixture.ts";


let dataDir: string;
let issuer: CertificateIssuer;
const { lot, runs, imprints, grade } = imprintLot();
// CELL-0003's run was aborted: it gets no certificate even though a stale result exists.
const detail: LotDetail = {
  lot,
  runs: runs.map((r, i) => (i === 2 ? { ...r, state: "aborted" as const } : r)),
  results: Object.fromEntries(imprints.map((imp) => [imp.serial, { kind: "imprint", ...imp }])),
  lotResult: { kind: "imprint", ...grade },
  phases: ["formation", "capacity", "rest"],
};

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "axviam-issuer-"));
  issuer = await createCertificateIssuer({
    dataDir,
    stationId: "st-01",
    stationName: "AXVIAM Station 01",
    log: silentLogger(),
    gradingRules: () => gradingRules,
    findImprint: async (serial) => (serial === "CELL-0001" ? imprintOf("CELL-0001", 4.9873, 21.4) : undefined),
  });
});
afterAll(async () => rm(dataDir, { recursive: true, force: true }));

describe("certificate issuer", () => {
  it("issues one certificate per complete cell, and none twice", async () => {
    const first = await issuer.issueForLot(detail);
    expect(first.issued.map((e) => [e.serial, e.decision])).toEqual([
      ["CELL-0001", "bin: A"],
      ["CELL-0002", "bin: C"],
      ["CELL-0004", "bin: reject"],
    ]);
    expect(first.skipped).toEqual([]);
    const again = await issuer.issueForLot(detail);
    expect(again.issued).toEqual([]);
    expect(again.existing.map((e) => e.id)).toEqual(first.issued.map((e) => e.id));
    // concurrent calls after a restart of the issuer: still one per run
    const reopened = await createCertificateIssuer({ dataDir, stationId: "st-01", stationName: "AXVIAM Station 01", log: silentLogger() });
    const [a, b] = await Promise.all([reopened.issueForLot(detail), reopened.issueForLot(detail)]);
    expect([...a.issued, ...b.issued]).toEqual([]);
    expect((await reopened.list(lot.id)).length).toBe(3);
    const index = JSON.parse(await readFile(path.join(dataDir, "certificates", "index.json"), "utf8"));
    expect(Object.keys(index.certificates).sort()).toEqual(first.issued.map((e) => e.id).sort());
  });

  it("adopts a certificate signed before the station stopped but never indexed: a cell never gets two", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "axviam-issuer-kill-"));
    try {
      const make = () => createCertificateIssuer({ dataDir: dir, stationId: "st-01", stationName: "AXVIAM Station 01", log: silentLogger(), gradingRules: () => gradingRules });
      const first = await (await make()).issueForLot(detail);
      // the station was killed after writing the certificates, before writing the indexes
      await rm(path.join(dir, "certificates", lot.id, "index.json"));
      await rm(path.join(dir, "certificates", lot.id, first.issued[1].paths.pdf.split("/").pop()!));
      await writeFile(path.join(dir, "certificates", "index.json"), JSON.stringify({ certificates: {} }));
      const restarted = await make();
      const again = await restarted.issueForLot(detail);
      expect(again.issued.map((e) => e.id)).toEqual(first.issued.map((e) => e.id));
      const files = (await readdir(path.join(dir, "certificates", lot.id))).filter((f) => f.endsWith(".json") && !f.endsWith("passport.json") && f !== "index.json");
      expect(files.length).toBe(3);
      // the missing PDF was rendered again from the signed JSON, and verifies
      const pdf = await restarted.pdf(first.issued[1].id);
      expect(await restarted.verify(pdf)).toMatchObject({ authentic: true, unmodified: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reports cells without a stored result instead of failing the lot", async () => {
    const l2 = lotOf("second-life");
    const r = [runOf(l2, "CELL-0001", 1), runOf(l2, "CELL-0009", 2)];
    const out = await issuer.issueForLot({ lot: l2, runs: r, results: { "CELL-0001": { kind: "second-life", ...secondLifeGradeOf("CELL-0001") } }, lotResult: { kind: "second-life", routes: {} }, phases: [] });
    expect(out.issued.map((e) => [e.serial, e.decision])).toEqual([["CELL-0001", "route: Stationary storage, grade B"]]);
    expect(out.skipped).toEqual([{ serial: "CELL-0009", runId: r[1].id, reason: "no analysis result stored for the cell" }]);
    const signed = await issuer.signed(out.issued[0].id);
    expect(signed.content.curves.find((c) => c.id === "dudt")!.series.map((s) => s.name)).toEqual(["second life", "imprint"]);
  });

  it("reprints identical bytes and verifies its own PDFs", async () => {
    const [e] = await issuer.list(lot.id);
    const pdf = await issuer.pdf(e.id);
    const reprinted = await issuer.reprint(e.id);
    expect(reprinted.pdf.equals(pdf)).toBe(true);
    expect(reprinted.entry.reprintedAt).toBeDefined();
    expect(await issuer.verify(pdf)).toMatchObject({ authentic: true, unmodified: true, serial: e.serial });
  });

  it("exports the lot: every PDF, signed JSON, passport and one CSV row per cell", async () => {
    const entries = await issuer.list(lot.id);
    const zip = await JSZip.loadAsync(await issuer.exportLot(lot.id));
    const names = Object.keys(zip.files).filter((n) => !n.endsWith("/")).sort();
    const expected = entries.flatMap((e) => [`${lot.id}/certificates/${e.serial}-${e.id}.json`, `${lot.id}/certificates/${e.serial}-${e.id}.pdf`, `${lot.id}/passports/${e.serial}.passport.json`]);
    expect(names).toEqual([...expected, `${lot.id}/summary.csv`].sort());
    const csv = (await zip.file(`${lot.id}/summary.csv`)!.async("string")).trim().split("\r\n");
    expect(csv).toHaveLength(1 + 3);
    expect(csv.slice(1).map((row) => row.split(",")[4])).toEqual(["A", "C", "reject"]);
    const passport = JSON.parse(await zip.file(`${lot.id}/passports/CELL-0001.passport.json`)!.async("string"));
    expect(passport).toMatchObject({ serial: "CELL-0001", lot: lot.id, simulated: true, certificateId: entries[0].id, remainingCapacity: { value: 4.9873, unit: "Ah" } });
  });

  it("a mapped imprint certificate passes qpdf --check and prints the serial and figures as stored", async () => {
    requireTools("qpdf", "pdftotext");
    const e = (await issuer.list(lot.id)).find((x) => x.serial === "CELL-0004")!;
    const file = path.join(dataDir, "certificates", e.paths.pdf);
    const check = spawnSync("qpdf", ["--check", file]);
    expect(check.status, check.stdout.toString()).toBe(0);
    const text = execFileSync("pdftotext", ["-layout", file, "-"]).toString("utf8");
    const signed = await issuer.signed(e.id);
    expect(text).toContain("Serial CELL-0004");
    expect(text).toContain(e.id);
    expect(text).toContain("SIMULATED DATA");
    for (const r of signed.content.results) {
      const printed = new RegExp(`${r.label.replace(/[()]/g, "\\$&")}\\s+${formatFigure(r.value).replace(".", "\\.")}\\s+${r.uncertainty === undefined ? "—" : `± ${formatFigure(r.uncertainty).replace(".", "\\.")}`}`);
      expect(text).toMatch(printed);
    }
    expect(text).toMatch(/Discharge capacity C\/3\s+4\.701\s+± 0\.012\s+Ah\s+≥ 4\.85\s+FAIL/);
    expect(text).toContain("reject");
  });
});
