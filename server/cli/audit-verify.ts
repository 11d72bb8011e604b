/**
 * `node --import tsx server/cli/audit-verify.ts [file]` — check the audit log's hash chain.
 * Exit 0: intact; 1: broken (the first bad line is printed); 2: usage error / file missing.
 */
import { existsSync } from "node:fs";
import { auditFile, verifyAuditLog } from "../store/audit-log.ts";

const file = process.argv[2] ?? auditFile(process.env.AXVIAM_DATA_DIR ?? "data");
if (!existsSync(file)) {
  process.stderr.write(`${file}: no such audit log\n`);
  process.exit(2);
}
const result = verifyAuditLog(file);
if (result.ok) {
  process.stdout.write(`${file}: OK, ${result.entries} entries, last hash ${result.lastHash}\n`);
  process.exit(0);
}
process.stdout.write(`${file}: TAMPERED at line ${result.line}: ${result.reason}\n`);
process.exit(1);
