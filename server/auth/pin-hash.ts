/**
 * PIN/password hashing with scrypt (RFC 7914) from node:crypto. The stored string carries its own parameters and
 * salt, so the cost can be raised later without invalidating existing hashes:
 *   scrypt$<N>$<r>$<p>$<salt base64>$<key base64>
 * N = 2^14, r = 8, p = 1 is the interactive-login setting recommended in RFC 7914 §2 / OWASP's password storage
 * cheat sheet minimum for scrypt; a login costs ~30–50 ms on one core, which also slows down guessing.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

const KEY_BYTES = 32;
const SALT_BYTES = 16;
const DEFAULT_COST = { N: 1 << 14, r: 8, p: 1 };

function derive(secret: string, salt: Buffer, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: 128·N·r·p bytes plus headroom, else node refuses N = 2^14 with r = 8 at its 32 MiB default on some builds.
    scrypt(secret.normalize("NFKC"), salt, KEY_BYTES, { ...o, maxmem: 256 * o.N! * o.r! * o.p! }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPin(pin: string, cost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(pin, salt, cost);
  return ["scrypt", cost.N, cost.r, cost.p, salt.toString("base64"), key.toString("base64")].join("$");
}

export async function verifyPin(pin: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, saltB64, keyB64] = stored.split("$");
  if (scheme !== "scrypt" || !saltB64 || !keyB64) throw new Error(`unknown PIN hash format "${scheme}"`);
  const expected = Buffer.from(keyB64, "base64");
  const actual = await derive(pin, Buffer.from(saltB64, "base64"), { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
