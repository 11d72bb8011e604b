/** Command-line tools some tests use (installed by .ci/run): missing ones fail the test with the package to install. */
import { spawnSync } from "node:child_process";

const PACKAGES: Record<string, string> = { qpdf: "qpdf", pdftotext: "poppler-utils", mbpoll: "mbpoll" };

export function requireTools(...tools: string[]): void {
  const missing = tools.filter((t) => spawnSync(t, ["--version"]).error !== undefined);
  if (missing.length > 0) throw new Error(`needs ${missing.join(", ")}: apt-get install ${missing.map((t) => PACKAGES[t] ?? t).join(" ")}`);
}
