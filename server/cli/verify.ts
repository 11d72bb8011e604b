/**
 * Verify a certificate PDF or JSON.
 *   npx tsx server/cli/verify.ts <file> [--key <public-key.pem>]... [--data-dir data]
 * Without --key, trusts the station key <data-dir>/keys/certificate-signing.pub.pem and every retired key
 * under <data-dir>/keys/retired/ (certificates signed before a key rotation).
 * Exit 0: authentic and unmodified; 1: not; 2: usage or I/O error.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadRetiredPublicKeys, PUBLIC_KEY_FILE } from "../certificates/signing.ts";
import { verifyCertificate } from "../certificates/verify.ts";

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { key: { type: "string", multiple: true }, "data-dir": { type: "string", default: "data" } },
  });
  if (positionals.length !== 1) {
    console.error("usage: verify <certificate.pdf|certificate.json> [--key <public-key.pem>]... [--data-dir data]");
    return 2;
  }
  const keyFiles = values.key ?? [path.join(values["data-dir"], "keys", PUBLIC_KEY_FILE)];
  const keys = [
    ...(await Promise.all(keyFiles.map((file) => readFile(file, "utf8")))),
    ...(values.key ? [] : await loadRetiredPublicKeys(values["data-dir"])),
  ];
  const result = await verifyCertificate(await readFile(positionals[0]), keys);
  const valid = result.authentic && result.unmodified;
  console.log(`${valid ? "VALID" : "INVALID"}: ${positionals[0]}`);
  if (result.serial) console.log(`  serial ${result.serial}, certificate ${result.id}, ${result.gradeSummary}${result.simulated ? " (SIMULATED DATA)" : ""}`);
  console.log(`  authentic: ${result.authentic ? "yes" : "no"}, unmodified: ${result.unmodified ? "yes" : "no"}`);
  console.log(`  ${result.reason}`);
  return valid ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`verify: ${(error as Error).message}`);
    process.exit(2);
  },
);
