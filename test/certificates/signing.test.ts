import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { generateKeyPairSync } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { certificateContentSchema } from "../../server/certificates/certificate.types.ts";
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, loadOrCreateKeyPair, publicKeyFingerprint, sign, verify } from "../../server/certificates/signing.ts";
import { sampleContent } from "./certificate-fixture.ts";

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "axviam-sign-"));
  dirs.push(dir);
  return dir;
};
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe("station signing key", () => {
  it("is created once with private permissions and reloaded unchanged", async () => {
    const dataDir = await tempDir();
    const first = await loadOrCreateKeyPair(dataDir);
    expect((await stat(path.join(dataDir, "keys"))).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(dataDir, "keys", PRIVATE_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect(await readFile(path.join(dataDir, "keys", PRIVATE_KEY_FILE), "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const second = await loadOrCreateKeyPair(dataDir);
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(first.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const pem = await readFile(path.join(dataDir, "keys", PUBLIC_KEY_FILE), "utf8");
    expect(verify(sign(certificateContentSchema.parse(sampleContent()), second), pem)).toBe(true);
  });
});

describe("sign / verify", () => {
  const content = certificateContentSchema.parse(sampleContent({ points: 50 }));

  it("round-trips, and the signature does not depend on key order", async () => {
    const keys = await loadOrCreateKeyPair(await tempDir());
    const signed = sign(content, keys);
    expect(signed.publicKeyFingerprint).toBe(publicKeyFingerprint(keys.publicKey));
    expect(Buffer.from(signed.signature, "base64")).toHaveLength(64);
    const reordered = JSON.parse(JSON.stringify(signed, Object.keys(signed).reverse()));
    reordered.content = Object.fromEntries(Object.entries(signed.content).reverse());
    expect(verify(reordered, keys.publicKey)).toBe(true);
  });

  it("fails when one figure changes by one digit", async () => {
    const keys = await loadOrCreateKeyPair(await tempDir());
    const signed = sign(content, keys);
    const tampered = structuredClone(signed);
    tampered.content.results[0].value = 4.9874;
    expect(verify(signed, keys.publicKey)).toBe(true);
    expect(verify(tampered, keys.publicKey)).toBe(false);
  });

  it("fails with another key", async () => {
    const keys = await loadOrCreateKeyPair(await tempDir());
    const other = generateKeyPairSync("ed25519").publicKey;
    expect(verify(sign(content, keys), other)).toBe(false);
  });
});
