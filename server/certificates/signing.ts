/**
 * Ed25519 signatures over the canonical JSON of a certificate's content (node:crypto).
 * The station's key pair lives in <dataDir>/keys/ (dir 0700, private key 0600, PKCS#8 PEM;
 * public key SPKI PEM) and is created on first start. A rotation (server/cli/rotate-key.ts) moves the pair to
 * keys/retired/<fingerprint>/; retired public keys keep verifying the certificates they signed.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, verify as edVerify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { canonicalJson } from "./canonical-json.ts";
import type { CertificateContent, SignedCertificate } from "./certificate.types.ts";

export interface StationKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SHA-256 of the SPKI DER public key, lowercase hex */
  fingerprint: string;
}

export class KeyStoreError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`key store ${file}: ${reason}`);
    this.name = "KeyStoreError";
  }
}

export const PRIVATE_KEY_FILE = "certificate-signing.key.pem";
export const PUBLIC_KEY_FILE = "certificate-signing.pub.pem";

export function publicKeyFingerprint(publicKey: KeyObject): string {
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex");
}

/** The first 16 bytes of the fingerprint, grouped for reading aloud / printing. */
export function shortFingerprint(fingerprint: string): string {
  return fingerprint.slice(0, 32).match(/.{4}/g)!.join(" ");
}

export function toPublicKey(key: KeyObject | string | Buffer): KeyObject {
  if (typeof key !== "string" && !Buffer.isBuffer(key)) return key.type === "private" ? createPublicKey(key) : key;
  const pem = key.toString();
  return pem.includes("PRIVATE KEY") ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
}

export async function loadOrCreateKeyPair(dataDir: string): Promise<StationKeyPair> {
  const keyDir = path.join(dataDir, "keys");
  const privatePath = path.join(keyDir, PRIVATE_KEY_FILE);
  await mkdir(keyDir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask and ignored for an existing dir: enforce it.
  await chmod(keyDir, 0o700);
  let privatePem: string;
  try {
    privatePem = await readFile(privatePath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const pair = generateKeyPairSync("ed25519");
    privatePem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    // "wx": never overwrite a key another process created meanwhile.
    await writeFile(privatePath, privatePem, { mode: 0o600, flag: "wx" });
    await writeFile(path.join(keyDir, PUBLIC_KEY_FILE), pair.publicKey.export({ type: "spki", format: "pem" }).toString(), {
      mode: 0o644,
    });
  }
  const privateKey = createPrivateKey(privatePem);
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new KeyStoreError(privatePath, `expected an Ed25519 key, found ${privateKey.asymmetricKeyType}`);
  }
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, fingerprint: publicKeyFingerprint(publicKey) };
}

const retiredDir = (dataDir: string) => path.join(dataDir, "keys", "retired");

/** Public keys of every retired signing key (keys/retired/<fingerprint>/), checked against their folder name. */
export async function loadRetiredPublicKeys(dataDir: string): Promise<KeyObject[]> {
  let folders: string[];
  try {
    folders = await readdir(retiredDir(dataDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const keys: KeyObject[] = [];
  for (const folder of folders.sort()) {
    const file = path.join(retiredDir(dataDir), folder, PUBLIC_KEY_FILE);
    const key = toPublicKey(await readFile(file, "utf8"));
    if (publicKeyFingerprint(key) !== folder) throw new KeyStoreError(file, `fingerprint ${publicKeyFingerprint(key)} does not match its folder ${folder}`);
    keys.push(key);
  }
  return keys;
}

/**
 * Retire the current key pair (moved, never deleted, to keys/retired/<fingerprint>/) and create a new one.
 * Run it with the station stopped: a running issuer keeps signing with the key it loaded.
 */
export async function rotateKeyPair(dataDir: string): Promise<{ retired: StationKeyPair; current: StationKeyPair }> {
  const keyDir = path.join(dataDir, "keys");
  try {
    await readFile(path.join(keyDir, PRIVATE_KEY_FILE));
  } catch {
    throw new KeyStoreError(path.join(keyDir, PRIVATE_KEY_FILE), "no signing key to rotate (it is created at the first start)");
  }
  const retired = await loadOrCreateKeyPair(dataDir);
  const archive = path.join(retiredDir(dataDir), retired.fingerprint);
  await mkdir(archive, { recursive: true, mode: 0o700 });
  await chmod(retiredDir(dataDir), 0o700);
  // private key first: if the second rename fails, the next start creates a new pair and the old public key is
  // still next to it in keys/, recoverable by hand
  await rename(path.join(keyDir, PRIVATE_KEY_FILE), path.join(archive, PRIVATE_KEY_FILE));
  await rename(path.join(keyDir, PUBLIC_KEY_FILE), path.join(archive, PUBLIC_KEY_FILE));
  return { retired, current: await loadOrCreateKeyPair(dataDir) };
}

export function sign(content: CertificateContent, keyPair: StationKeyPair): SignedCertificate {
  const message = Buffer.from(canonicalJson(content), "utf8");
  return {
    content,
    signature: edSign(null, message, keyPair.privateKey).toString("base64"),
    publicKeyFingerprint: keyPair.fingerprint,
  };
}

/** True when the signature over the canonical content verifies with this public key. */
export function verify(signed: SignedCertificate, publicKey: KeyObject | string | Buffer): boolean {
  const key = toPublicKey(publicKey);
  if (key.asymmetricKeyType !== "ed25519") return false;
  const message = Buffer.from(canonicalJson(signed.content), "utf8");
  return edVerify(null, message, key, Buffer.from(signed.signature, "base64"));
}

/** SHA-256 of the canonical content, hex: what the QR code carries to tie a scan to the signed bytes. */
export function contentDigest(content: CertificateContent, canonicalContent = canonicalJson(content)): string {
  return createHash("sha256").update(canonicalContent, "utf8").digest("hex");
}
