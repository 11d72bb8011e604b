/** Signing-key rotation: the old pair is archived by fingerprint, new certificates use the new key, old ones still verify. */
import { execFileSync, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCertificateIssuer } from "../../server/certificates/certificate-issuer.ts";
import { KeyStoreError, loadOrCreateKeyPair, loadRetiredPublicKeys, publicKeyFingerprint, PUBLIC_KEY_FILE, rotateKeyPair, sign } from "../../server/certificates/signing.ts";
import { silentLogger } from "../../server/log/logger.ts";
import { sampleContent } from "./certificate-fixture.ts";

let dataDir: string;
beforeEach(() => void (dataDir = mkdtempSync(path.join(os.tmpdir(), "axviam-keys-"))));
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const issuer = () => createCertificateIssuer({ dataDir, stationId: "st-01", stationName: "AXVIAM Station 01", log: silentLogger() });
const asJson = (x: unknown) => Buffer.from(JSON.stringify(x));

describe("signing-key rotation", () => {
  it("archives the old pair under keys/retired/<fingerprint>/ and creates a new one", async () => {
    const old = await loadOrCreateKeyPair(dataDir);
    const { retired, current } = await rotateKeyPair(dataDir);
    expect(retired.fingerprint).toBe(old.fingerprint);
    expect(current.fingerprint).not.toBe(old.fingerprint);
    const archive = path.join(dataDir, "keys", "retired", old.fingerprint);
    expect(readdirSync(archive).sort()).toEqual(["certificate-signing.key.pem", "certificate-signing.pub.pem"]);
    expect(statSync(archive).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(archive, "certificate-signing.key.pem")).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateKeyPair(dataDir)).fingerprint).toBe(current.fingerprint); // the new pair is the one loaded now
    expect((await loadRetiredPublicKeys(dataDir)).map(publicKeyFingerprint)).toEqual([old.fingerprint]);
  });

  it("certificates signed before the rotation still verify; new ones carry the new fingerprint; a foreign key does not", async () => {
    const before = sign(sampleContent({ id: "11111111-1111-4111-8111-111111111111" }), await loadOrCreateKeyPair(dataDir));
    const { current } = await rotateKeyPair(dataDir);
    await rotateKeyPair(dataDir); // two rotations: the first retired key must still be found
    const after = sign(sampleContent({ id: "22222222-2222-4222-8222-222222222222" }), await loadOrCreateKeyPair(dataDir));
    expect(after.publicKeyFingerprint).not.toBe(current.fingerprint);
    const i = await issuer();
    expect(await i.verify(asJson(before))).toMatchObject({ authentic: true, unmodified: true });
    expect(await i.verify(asJson(after))).toMatchObject({ authentic: true, unmodified: true });
    const foreign = generateKeyPairSync("ed25519");
    const forged = sign(sampleContent(), { ...foreign, fingerprint: publicKeyFingerprint(foreign.publicKey) });
    expect(await i.verify(asJson(forged))).toMatchObject({ authentic: false, reason: expect.stringMatching(/unknown key/) });
  });

  it("refuses a retired key whose folder does not name its fingerprint (a swapped-in key)", async () => {
    await loadOrCreateKeyPair(dataDir);
    const { retired } = await rotateKeyPair(dataDir);
    const fake = path.join(dataDir, "keys", "retired", "0".repeat(64));
    mkdirSync(fake);
    const other = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
    writeFileSync(path.join(fake, PUBLIC_KEY_FILE), other);
    await expect(loadRetiredPublicKeys(dataDir)).rejects.toThrow(KeyStoreError);
    expect(retired.fingerprint).not.toBe("0".repeat(64));
  });

  it("the CLIs: rotate-key rotates (and refuses when there is no key); verify accepts a pre-rotation certificate", async () => {
    const cli = (script: string, args: string[]) => spawnSync(process.execPath, ["--import", "tsx", `server/cli/${script}.ts`, ...args], { encoding: "utf8" });
    const empty = cli("rotate-key", ["--data-dir", dataDir]);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/no signing key to rotate/);

    const old = await loadOrCreateKeyPair(dataDir);
    const file = path.join(dataDir, "before.json");
    writeFileSync(file, JSON.stringify(sign(sampleContent(), old)));
    const rotated = cli("rotate-key", ["--data-dir", dataDir]);
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain(`keys/retired/${old.fingerprint}/`);
    expect(existsSync(path.join(dataDir, "keys", "certificate-signing.key.pem"))).toBe(true);
    const verified = cli("verify", [file, "--data-dir", dataDir]);
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^VALID/);
    expect(() => execFileSync(process.execPath, ["--import", "tsx", "server/cli/verify.ts", file, "--key", path.join(dataDir, "keys", PUBLIC_KEY_FILE)], { stdio: "pipe" })).toThrow(); // only the new key: not valid
  }, 60_000);
});
