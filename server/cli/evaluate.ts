/**
 * npm run evaluate -- <input folder> [--out reports/] [--name <report name>] [--years 8]
 * Convert every BMS log of the folder, analyse it, project ageing with and without the recommended
 * envelope, and write CSV, PNG, HTML and PDF into <out>/<name>/ (default name: a UTC timestamp).
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { describeIssues } from "../domain/equipment/program.ts";
import { envelopeRulesSchema, type EnvelopeRules } from "../domain/envelope/envelope.ts";
import { loadColumnMaps } from "../evaluation/import/column-map.ts";
import { runEvaluation } from "../evaluation/pipeline.ts";
import { formatTerminalSummary, writeReport } from "../evaluation/report/write-report.ts";

export const DEFAULT_ENVELOPE_RULES_PATH = new URL("../../station-config/evaluation/envelope.yaml", import.meta.url);

export async function loadEnvelopeRules(path: string | URL = DEFAULT_ENVELOPE_RULES_PATH): Promise<EnvelopeRules> {
  const parsed = envelopeRulesSchema.safeParse(parseYaml(await readFile(path, "utf8")));
  if (!parsed.success) throw new Error(`envelope rules ${String(path)} are invalid:\n${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

export interface EvaluateCliResult {
  reportDir: string;
  files: string[];
  summary: string;
}

export async function evaluateCli(argv: readonly string[]): Promise<EvaluateCliResult> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      out: { type: "string", default: "reports" },
      name: { type: "string" },
      years: { type: "string", default: "8" },
      "column-maps": { type: "string" },
      "envelope-rules": { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new Error("usage: evaluate <input folder> [--out reports/] [--name <name>] [--years 8] [--column-maps file] [--envelope-rules file]");
  const years = Number(values.years);
  if (!(years > 0 && years <= 40)) throw new Error(`--years must be in (0, 40], got "${values.years}"`);
  const columnMaps = await loadColumnMaps(values["column-maps"]);
  const envelopeRules = await loadEnvelopeRules(values["envelope-rules"]);
  const run = await runEvaluation(resolve(positionals[0]), { columnMaps, envelopeRules, years });
  const name = values.name ?? new Date().toISOString().replace(/[:.]/g, "-");
  const reportDir = join(resolve(values.out), name);
  const written = await writeReport(run, reportDir, years);
  return { reportDir, files: written.files, summary: formatTerminalSummary(run, reportDir) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  evaluateCli(process.argv.slice(2)).then(
    (r) => console.log(r.summary),
    (e: Error) => {
      console.error(`evaluate: ${e.message}`);
      process.exitCode = 1;
    },
  );
}
