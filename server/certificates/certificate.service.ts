/**
 * Issues certificates into the station's data folder:
 *   <dataDir>/certificates/<lot>/<serial>-<id>.pdf   (signed JSON embedded)
 *   <dataDir>/certificates/<lot>/<serial>-<id>.json  (the same signed JSON, pretty-printed)
 * Lot and serial become path components, so they are checked against a strict pattern
 * rather than sanitised: a serial that cannot be a file name is an error worth seeing.
 */
import { mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { certificateContentSchema, signedCertificateSchema } from "./certificate.types.ts";
import type { CertificateContent, SignedCertificate } from "./certificate.types.ts";
import { renderCertificatePdf } from "./pdf-renderer.ts";
import type { RenderOptions } from "./pdf-renderer.ts";
import { sign, verify } from "./signing.ts";
import type { StationKeyPair } from "./signing.ts";

export interface IssuedCertificate {
  id: string;
  pdfPath: string;
  jsonPath: string;
}

export class CertificateStoreError extends Error {
  constructor(reason: string) {
    super(`certificate store: ${reason}`);
    this.name = "CertificateStoreError";
  }
}

/** Letters, digits, '.', '_' and '-', starting with a letter or digit (so never "." or ".."), at most 64 characters. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function assertSafeName(field: "serial" | "lot", value: string): void {
  if (!SAFE_NAME.test(value)) {
    throw new CertificateStoreError(`${field} ${JSON.stringify(value)} is not usable as a file name (allowed: A-Z a-z 0-9 . _ -, max 64, no leading dot)`);
  }
}

export function certificatesDir(dataDir: string): string {
  return path.join(dataDir, "certificates");
}

export async function issueCertificate(
  content: CertificateContent,
  keyPair: StationKeyPair,
  dataDir: string,
  options: RenderOptions = {},
): Promise<IssuedCertificate> {
  const checked = certificateContentSchema.parse(content);
  const signed = sign(checked, keyPair);
  return writeSignedCertificate(signed, dataDir, options);
}

/**
 * Renders the PDF again from the stored signed JSON (same signature, identical bytes for the
 * same page size). Refuses a stored JSON whose signature no longer verifies.
 */
export async function reprint(
  id: string,
  keyPair: Pick<StationKeyPair, "publicKey">,
  dataDir: string,
  options: RenderOptions = {},
): Promise<IssuedCertificate> {
  const jsonPath = await findCertificateJson(id, dataDir);
  const signed = signedCertificateSchema.parse(JSON.parse(await readFile(jsonPath, "utf8")));
  if (!verify(signed, keyPair.publicKey)) throw new CertificateStoreError(`${jsonPath}: signature does not verify, refusing to reprint`);
  return writeSignedCertificate(signed, dataDir, options);
}

export async function readSignedCertificate(id: string, dataDir: string): Promise<SignedCertificate> {
  const jsonPath = await findCertificateJson(id, dataDir);
  return signedCertificateSchema.parse(JSON.parse(await readFile(jsonPath, "utf8")));
}

async function writeSignedCertificate(signed: SignedCertificate, dataDir: string, options: RenderOptions): Promise<IssuedCertificate> {
  const { lot, serial } = signed.content.identity;
  assertSafeName("lot", lot);
  assertSafeName("serial", serial);
  const dir = path.join(certificatesDir(dataDir), lot);
  await mkdir(dir, { recursive: true });
  const base = path.join(dir, `${serial}-${signed.content.id}`);
  const pdf = await renderCertificatePdf(signed, options);
  await writeAtomically(`${base}.json`, `${JSON.stringify(signed, null, 2)}\n`);
  await writeAtomically(`${base}.pdf`, pdf);
  return { id: signed.content.id, pdfPath: `${base}.pdf`, jsonPath: `${base}.json` };
}

async function writeAtomically(file: string, data: string | Buffer): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, data);
  await rename(temp, file);
}

/** A scan of the lot folders; the station's certificate index (store/) can replace it when it exists. */
async function findCertificateJson(id: string, dataDir: string): Promise<string> {
  if (!UUID.test(id)) throw new CertificateStoreError(`certificate id ${JSON.stringify(id)} is not a UUID`);
  const root = certificatesDir(dataDir);
  let lots: string[];
  try {
    lots = await readdir(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new CertificateStoreError(`certificate ${id} not found (no ${root})`);
    throw error;
  }
  const suffix = `-${id.toLowerCase()}.json`;
  for (const lot of lots) {
    const files = await readdir(path.join(root, lot)).catch(() => [] as string[]);
    const match = files.find((f) => f.toLowerCase().endsWith(suffix));
    if (match) return path.join(root, lot, match);
  }
  throw new CertificateStoreError(`certificate ${id} not found under ${root}`);
}
