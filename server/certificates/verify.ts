/**
 * Is a certificate (PDF or JSON) authentic and unmodified?
 *
 * authentic  — the signed JSON parses, its fingerprint names one of the trusted keys and the
 *              Ed25519 signature over the canonical content verifies with that key.
 * unmodified — for JSON: same as authentic (the content is what was signed).
 *              for PDF: additionally, re-rendering the signed content with this layout version
 *              gives exactly the same bytes. The renderer is deterministic, so any change to a
 *              printed figure, the charts, the embedded JSON or the metadata shows as a mismatch.
 */
import { inflateSync } from "node:zlib";
import type { KeyObject } from "node:crypto";
import { signedCertificateSchema } from "./certificate.types.ts";
import type { SignedCertificate } from "./certificate.types.ts";
import { LAYOUT_VERSION, PAGE_SIZES, renderCertificatePdf } from "./pdf-renderer.ts";
import { publicKeyFingerprint, toPublicKey, verify } from "./signing.ts";

export interface VerificationResult {
  authentic: boolean;
  unmodified: boolean;
  format: "pdf" | "json" | "unknown";
  id?: string;
  serial?: string;
  /** e.g. "route: stationary storage A" */
  gradeSummary?: string;
  simulated?: boolean;
  reason: string;
}

export async function verifyCertificate(
  input: Buffer,
  publicKeys: readonly (KeyObject | string | Buffer)[],
): Promise<VerificationResult> {
  const isPdf = input.subarray(0, 5).toString("latin1") === "%PDF-";
  const format = isPdf ? "pdf" : "json";
  let raw: string;
  try {
    raw = isPdf ? extractEmbeddedCertificate(input) : input.toString("utf8");
  } catch (error) {
    return { authentic: false, unmodified: false, format, reason: (error as Error).message };
  }

  let parsedJson: unknown;
  try {
    parsedJson = JSON.parse(raw);
  } catch (error) {
    return { authentic: false, unmodified: false, format: isPdf ? "pdf" : "unknown", reason: `not JSON: ${(error as Error).message}` };
  }
  const parsed = signedCertificateSchema.safeParse(parsedJson);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { authentic: false, unmodified: false, format, reason: `not a signed certificate: ${issue.path.join(".") || "$"}: ${issue.message}` };
  }
  const signed = parsed.data;
  const summary = {
    format,
    id: signed.content.id,
    serial: signed.content.identity.serial,
    gradeSummary: `${signed.content.decision.kind}: ${signed.content.decision.value}`,
    simulated: signed.content.simulated,
  } as const;

  const keys = publicKeys.map(toPublicKey);
  const key = keys.find((k) => publicKeyFingerprint(k) === signed.publicKeyFingerprint);
  if (!key) {
    return { ...summary, authentic: false, unmodified: false, reason: `signed by unknown key ${signed.publicKeyFingerprint.slice(0, 32)}` };
  }
  if (!verify(signed, key)) {
    return { ...summary, authentic: false, unmodified: false, reason: "signature does not match the certificate content" };
  }
  if (!isPdf) return { ...summary, authentic: true, unmodified: true, reason: "signature valid" };

  const visible = await compareWithRendering(input, signed);
  return { ...summary, authentic: true, unmodified: visible.ok, reason: visible.reason };
}

async function compareWithRendering(pdf: Buffer, signed: SignedCertificate): Promise<{ ok: boolean; reason: string }> {
  const layout = infoString(pdf.toString("latin1"), "AxviamLayout");
  if (layout !== LAYOUT_VERSION) {
    return {
      ok: false,
      reason: `signature valid, but the PDF was laid out by version ${layout ?? "unknown"} and this verifier renders version ${LAYOUT_VERSION}: the printed page cannot be confirmed — verify the attached JSON instead`,
    };
  }
  for (const pageSize of PAGE_SIZES) {
    const rendered = await renderCertificatePdf(signed, { pageSize });
    if (rendered.equals(pdf)) return { ok: true, reason: `signature valid; printed page identical to the signed content (layout ${LAYOUT_VERSION}, ${pageSize})` };
  }
  return { ok: false, reason: "signature valid, but the printed PDF differs from a rendering of the signed content: the visible page was modified" };
}

/** A simple ASCII literal-string entry of the info dictionary, direct or by indirect reference (pdfkit writes the latter). */
function infoString(pdfText: string, key: string): string | undefined {
  const entry = new RegExp(`/${key} (?:\\(([^)]*)\\)|(\\d+) 0 R)`).exec(pdfText);
  if (!entry) return undefined;
  if (entry[1] !== undefined) return entry[1];
  return new RegExp(`(?:^|\\n)${entry[2]} 0 obj\\n\\(([^)]*)\\)\\nendobj`).exec(pdfText)?.[1];
}

export class EmbeddedCertificateError extends Error {
  constructor(reason: string) {
    super(`PDF: ${reason}`);
    this.name = "EmbeddedCertificateError";
  }
}

/**
 * The signed JSON attached by pdf-renderer.ts. Certificates are written by pdfkit without
 * object streams, so the embedded-file stream is a top-level object: find the single
 * `/Type /EmbeddedFile` dictionary, take `/Length` bytes after `stream`, inflate if Flate.
 */
export function extractEmbeddedCertificate(pdf: Buffer): string {
  const text = pdf.toString("latin1");
  const marker = /\/Type\s*\/EmbeddedFile\b/g;
  const matches = [...text.matchAll(marker)];
  const first = matches[0]?.index ?? -1;
  if (first < 0) throw new EmbeddedCertificateError("no embedded certificate (no /EmbeddedFile stream)");
  if (matches.length > 1) throw new EmbeddedCertificateError("more than one embedded file; expected exactly one certificate");
  const dictStart = text.lastIndexOf(" obj", first);
  const streamKeyword = /stream\r?\n/.exec(text.slice(first))?.index;
  if (dictStart < 0 || streamKeyword === undefined) throw new EmbeddedCertificateError("malformed embedded file object");
  const dictionary = text.slice(dictStart, first + streamKeyword);
  const lengthEntry = /\/Length (\d+)(?: 0 R)?/.exec(dictionary);
  // Tools that rewrite PDFs (qpdf, viewers) may store /Length as an indirect object.
  const length = Number(
    lengthEntry?.[0].endsWith(" R") ? new RegExp(`(?:^|\\n)${lengthEntry[1]} 0 obj\\s*(\\d+)\\s*endobj`).exec(text)?.[1] : lengthEntry?.[1],
  );
  if (!Number.isInteger(length)) throw new EmbeddedCertificateError("embedded file stream has no /Length");
  const dataStart = first + streamKeyword + (text.startsWith("stream\r\n", first + streamKeyword) ? 8 : 7);
  const data = pdf.subarray(dataStart, dataStart + length);
  if (data.length !== length) throw new EmbeddedCertificateError("embedded file stream is truncated");
  try {
    return (/\/Filter \/FlateDecode/.test(dictionary) ? inflateSync(data) : data).toString("utf8");
  } catch (error) {
    throw new EmbeddedCertificateError(`embedded file stream does not inflate: ${(error as Error).message}`);
  }
}
