/**
 * Rotate the station's certificate-signing key (docs/operations.md). Stop the station first.
 *   npx tsx server/cli/rotate-key.ts [--data-dir data]
 * The current pair moves to <data-dir>/keys/retired/<fingerprint>/ and a new pair is created; the station and the
 * verify command keep accepting certificates signed by retired keys. Exit 0: rotated; 2: usage or I/O error.
 */
import { parseArgs } from "node:util";
import { rotateKeyPair, shortFingerprint } from "../certificates/signing.ts";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { "data-dir": { type: "string", default: "data" } } });
  const dataDir = values["data-dir"];
  const { retired, current } = await rotateKeyPair(dataDir);
  console.log(`retired  ${shortFingerprint(retired.fingerprint)}  → ${dataDir}/keys/retired/${retired.fingerprint}/`);
  console.log(`current  ${shortFingerprint(current.fingerprint)}`);
  console.log("Publish the new public key (GET /api/certificates/public-key) to whoever verifies certificates offline.");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`rotate-key: ${(error as Error).message}`);
    process.exit(2);
  },
);
