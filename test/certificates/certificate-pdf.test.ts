import { execFileSync, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certificateContentSchema } from "../../server/certificates/certificate.types.ts";
import type { SignedCertificate } from "../../server/certificates/certificate.types.ts";
import { extractEmbeddedCertificate, verifyCertificate } from "../../server/certificates/verify.ts";
import { formatFigure, qrPayload, renderCertificatePdf } from "../../server/certificates/pdf-renderer.ts";
import { qrModules } from "../../server/certificates/qr-drawing.ts";
import { loadOrCreateKeyPair, publicKeyFingerprint, sign } from "../../server/certificates/signing.ts";
import type { StationKeyPair } from "../../server/certificates/signing.ts";
import { requireTools } from "../support/tools.ts";
import { sampleContent } from "./certificate-fixture.ts";

beforeAll(() => requireTools("qpdf", "pdftotext"));

let dir: string;
let keys: StationKeyPair;
let signed: SignedCertificate;
let pdf: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "axviam-pdf-"));
  keys = await loadOrCreateKeyPair(dir);
  signed = sign(certificateContentSchema.parse(sampleContent()), keys);
  pdf = await renderCertificatePdf(signed);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const pdfText = async (buffer: Buffer) => {
  const file = path.join(dir, `t-${Math.random().toString(36).slice(2)}.pdf`);
  await writeFile(file, buffer);
  return execFileSync("pdftotext", ["-layout", file, "-"]).toString("utf8");
};

/** A binary PGM (P5, 8-bit) as pdftoppm -gray writes it: gray level 0–255 at a pixel position. */
function grayPage(pgm: Buffer): { at(xPx: number, yPx: number): number } {
  const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.subarray(0, 40).toString("latin1"));
  if (!header) throw new Error("not an 8-bit binary PGM");
  const width = Number(header[1]);
  const pixels = pgm.subarray(header[0].length);
  return { at: (xPx, yPx) => pixels[Math.floor(yPx) * width + Math.floor(xPx)] };
}

describe("certificate PDF", () => {
  it("is deterministic: same signed content → identical bytes", async () => {
    expect((await renderCertificatePdf(signed)).equals(pdf)).toBe(true);
    expect((await renderCertificatePdf(signed, { pageSize: "LETTER" })).equals(pdf)).toBe(false);
  });

  it("leaves the caller's certificate untouched (pdfmake rewrites its document definition in place)", async () => {
    const before = structuredClone(signed);
    await renderCertificatePdf(signed, { pageSize: "LETTER" });
    expect(signed).toEqual(before);
  });

  it("renders the same bytes in a process that has rendered nothing before (fonts, layouts and subsets are shared across documents)", async () => {
    // This process has rendered other certificates and page sizes (warm shared font caches); the verify CLI
    // re-renders in a fresh process whose first document this is, and compares bytes.
    const other = sign(certificateContentSchema.parse(sampleContent({ serial: "LGM50-777001", id: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", points: 120 })), keys);
    await renderCertificatePdf(other, { pageSize: "LETTER" });
    const file = path.join(dir, "warm.pdf");
    await writeFile(file, await renderCertificatePdf(other));
    const result = spawnSync(process.execPath, ["--import", "tsx", "server/cli/verify.ts", file, "--data-dir", dir], { encoding: "utf8" });
    expect(result.stdout, result.stderr).toContain("VALID: ");
    expect(result.stdout).toContain("unmodified: yes");
    expect(result.status).toBe(0);
  });

  it("embeds the signed JSON as an attachment", () => {
    expect(JSON.parse(extractEmbeddedCertificate(pdf))).toEqual(signed);
  });

  it("passes qpdf --check", async () => {
    const file = path.join(dir, "check.pdf");
    await writeFile(file, pdf);
    const result = spawnSync("qpdf", ["--check", file]);
    expect(result.status, result.stdout.toString()).toBe(0);
    expect(result.stdout.toString()).toContain("No syntax or stream encoding errors");
  });

  it("prints serial, every figure as stored, the decision and the simulated banner", async () => {
    const text = await pdfText(pdf);
    expect(text).toContain("LGM50-000123");
    for (const result of signed.content.results) {
      expect(text).toContain(result.label);
      expect(text).toMatch(new RegExp(`(^|\\s)${formatFigure(result.value).replace(".", "\\.")}(\\s|$)`, "m"));
    }
    expect(text).toContain("4.9873");
    expect(text).toContain("stationary storage A");
    expect(text).toContain("SIMULATED DATA — measured on simulated equipment");
    expect(text).toContain("page 2 of 2");
  });

  it("draws every QR module where the header keeps the code (A4 and Letter)", async () => {
    // Ground truth: the code's matrix from the qrcode library, and the layout's geometry — a 92 pt square at the
    // top right of the content area (40 pt side margins, 46 pt top margin under the simulated banner).
    const expected = qrModules(qrPayload(signed));
    expect(expected.length).toBeGreaterThan(21);
    const pxPerPt = 3;
    for (const [pageSize, pageWidthPt] of [["A4", 595.28], ["LETTER", 612]] as const) {
      const file = path.join(dir, `qr-${pageSize}.pdf`);
      await writeFile(file, await renderCertificatePdf(signed, { pageSize }));
      const page = grayPage(execFileSync("pdftoppm", ["-f", "1", "-l", "1", "-r", String(72 * pxPerPt), "-gray", file], { maxBuffer: 64 << 20 }));
      const modulePt = 92 / expected.length;
      const read = expected.map((row, r) =>
        row.map((_, c) => page.at((pageWidthPt - 40 - 92 + (c + 0.5) * modulePt) * pxPerPt, (46 + (r + 0.5) * modulePt) * pxPerPt) < 128),
      );
      expect(read, pageSize).toEqual(expected);
    }
  });

  it("omits the simulated banner for measured data", async () => {
    const measured = sign(certificateContentSchema.parse({ ...sampleContent({ points: 50 }), simulated: false }), keys);
    const text = await pdfText(await renderCertificatePdf(measured));
    expect(text).not.toContain("SIMULATED");
    expect(text).toContain("LGM50-000123");
  });
});

describe("verifyCertificate", () => {
  it("accepts the PDF and the JSON", async () => {
    const fromPdf = await verifyCertificate(pdf, [keys.publicKey]);
    expect(fromPdf).toMatchObject({ authentic: true, unmodified: true, format: "pdf", serial: "LGM50-000123", gradeSummary: "route: stationary storage A", simulated: true });
    const fromJson = await verifyCertificate(Buffer.from(JSON.stringify(signed, null, 2)), [keys.publicKey]);
    expect(fromJson).toMatchObject({ authentic: true, unmodified: true, format: "json" });
  });

  it("rejects a JSON with one figure changed", async () => {
    const tampered = structuredClone(signed);
    tampered.content.results[2].value = 29.46;
    const result = await verifyCertificate(Buffer.from(JSON.stringify(tampered)), [keys.publicKey]);
    expect(result).toMatchObject({ authentic: false, unmodified: false });
    expect(result.reason).toMatch(/signature does not match/);
  });

  it("rejects a PDF re-rendered with a changed figure under the original signature", async () => {
    const forged = structuredClone(signed);
    forged.content.results[0].value = 5.1873;
    const result = await verifyCertificate(await renderCertificatePdf(forged), [keys.publicKey]);
    expect(result).toMatchObject({ authentic: false, unmodified: false });
  });

  it("rejects a PDF re-signed with another key", async () => {
    const attacker = generateKeyPairSync("ed25519");
    const forged = sign(signed.content, { ...attacker, fingerprint: publicKeyFingerprint(attacker.publicKey) });
    const result = await verifyCertificate(await renderCertificatePdf(forged), [keys.publicKey]);
    expect(result).toMatchObject({ authentic: false, unmodified: false });
    expect(result.reason).toMatch(/unknown key/);
  });

  it("flags an edited page (metadata bytes and page content stream) while the signature stays valid", async () => {
    const latin = pdf.toString("latin1");
    const titleEdit = Buffer.from(latin.replace("certificate LGM50-000123)", "certificate LGM50-000124)"), "latin1");
    expect(titleEdit.equals(pdf)).toBe(false);
    expect(await verifyCertificate(titleEdit, [keys.publicKey])).toMatchObject({ authentic: true, unmodified: false });

    // One bit inside the last compressed stream (a font subset or page drawing).
    const streamEdit = Buffer.from(pdf);
    streamEdit[latin.lastIndexOf("endstream") - 20] ^= 0x01;
    const result = await verifyCertificate(streamEdit, [keys.publicKey]);
    expect(result.unmodified).toBe(false);
  });

  it("flags a PDF rewritten by another tool but still reads its attachment", async () => {
    const input = path.join(dir, "orig.pdf");
    const output = path.join(dir, "qdf.pdf");
    await writeFile(input, pdf);
    execFileSync("qpdf", ["--qdf", "--object-streams=disable", input, output]);
    const result = await verifyCertificate(await readFile(output), [keys.publicKey]);
    expect(result).toMatchObject({ authentic: true, unmodified: false, serial: "LGM50-000123" });
  });

  it("rejects a PDF without embedded certificate and garbage input", async () => {
    const noAttachment = Buffer.from(pdf.toString("latin1").replaceAll("/Type /EmbeddedFile", "/Type /EmbeddedFilX"), "latin1");
    expect((await verifyCertificate(noAttachment, [keys.publicKey])).reason).toMatch(/no embedded certificate/);
    expect(await verifyCertificate(Buffer.from("hello"), [keys.publicKey])).toMatchObject({ authentic: false, format: "unknown" });
  });
});
