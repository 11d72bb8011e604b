import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateCli, loadEnvelopeRules, type EvaluateCliResult } from "../../server/cli/evaluate.ts";
import { sampleGroundTruth, writeSampleLogs } from "../../server/cli/make-sample-logs.ts";
import { loadColumnMaps } from "../../server/evaluation/import/column-map.ts";
import { runEvaluation } from "../../server/evaluation/pipeline.ts";
import { buildPdfDefinition } from "../../server/evaluation/report/write-report.ts";

let dir: string;
let result: EvaluateCliResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "axviam-evaluate-"));
  await writeSampleLogs(join(dir, "logs"));
  result = await evaluateCli([join(dir, "logs"), "--out", join(dir, "reports"), "--name", "run1", "--years", "5"]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("npm run evaluate on the simulated sample logs", () => {
  it("writes every file: CSV, PNG per vehicle, HTML, PDF", () => {
    expect(result.reportDir).toBe(join(dir, "reports", "run1"));
    for (const v of ["SIM-EV-01", "SIM-EV-02", "SIM-MOPED-16S"]) {
      for (const suffix of ["trips.csv", "projection.csv", "capacity.png", "efficiency.png", "cycles.png", "projection.png"]) {
        expect(result.files).toContain(`${v}-${suffix}`);
      }
    }
    expect(result.files).toEqual(expect.arrayContaining(["summary.csv", "summary.json", "import-issues.csv", "report.html", "summary.pdf"]));
  });

  it("recovers the simulated cells' true SOH and reports the broken rows and the corrupt file", async () => {
    const summary = JSON.parse(await readFile(join(result.reportDir, "summary.json"), "utf8"));
    const soh = (id: string) => summary.vehicles.find((v: { vehicleId: string }) => v.vehicleId === id).figures.find((f: { id: string }) => f.id === "soh").value;
    // Ground truth from the cell model (true capacity of the simulated cells / rated), not from analysing the logs.
    // Tolerance 0.5 pp: SOC is logged to 0.1 % over ΔSOC ≥ 20 %, and the cells lose 0.02 % of charge to side reactions.
    const truth = new Map(sampleGroundTruth().map((t) => [t.vehicleId, t.sohAh * 100]));
    expect(Math.abs(soh("SIM-EV-01") - truth.get("SIM-EV-01")!)).toBeLessThan(0.5);
    expect(Math.abs(soh("SIM-MOPED-16S") - truth.get("SIM-MOPED-16S")!)).toBeLessThan(0.5);
    expect(summary.importErrors).toEqual([expect.objectContaining({ file: "corrupt-truncated.json", kind: "malformed" })]);
    expect(summary.importIssues.filter((i: { file: string }) => i.file === "ev01-broken-rows.csv")).toHaveLength(5);
    const issuesCsv = await readFile(join(result.reportDir, "import-issues.csv"), "utf8");
    expect(issuesCsv).toContain("ev01-broken-rows.csv,16,time_s: missing timestamp");
  });

  it("terminal, CSV, HTML and PDF carry the same figures; projections are labelled", async () => {
    const html = await readFile(join(result.reportDir, "report.html"), "utf8");
    const csv = await readFile(join(result.reportDir, "summary.csv"), "utf8");
    const summary = JSON.parse(await readFile(join(result.reportDir, "summary.json"), "utf8"));
    const pdfBytes = await readFile(join(result.reportDir, "summary.pdf"));
    expect(pdfBytes.subarray(0, 5).toString()).toBe("%PDF-");
    const columnMaps = await loadColumnMaps();
    const run = await runEvaluation(join(dir, "logs"), { columnMaps, envelopeRules: await loadEnvelopeRules(), years: 5 });
    const pdfText = JSON.stringify(buildPdfDefinition(run, 5));
    let projections = 0;
    for (const v of summary.vehicles) {
      for (const f of v.figures) {
        const shown = `${f.text} ${f.unit}`;
        expect(result.summary).toContain(shown);
        expect(html).toContain(shown);
        expect(pdfText).toContain(shown);
        expect(csv).toContain(`${v.vehicleId},${f.id},`);
        expect(csv).toContain(`,${f.text},`);
        if (f.kind === "model projection") {
          projections++;
          expect(f.provenance).toMatch(/^model projection \(NREL BLAST-Lite Nmc111_Gr_Kokam75Ah_Battery, parameters q1_0=26600000/);
          expect(result.summary).toContain(f.provenance);
        }
      }
    }
    expect(projections).toBeGreaterThanOrEqual(4);
    for (const key of ["Average efficiency", "Total distance", "Capacity loss", "Remaining capacity", "Range per charge"]) {
      expect(result.summary).toContain(key);
    }
    expect(html).toContain("SIMULATED DATA");
    expect(html).toContain("corrupt-truncated.json");
    const projectionCsv = await readFile(join(result.reportDir, "SIM-EV-01-projection.csv"), "utf8");
    expect(projectionCsv.startsWith("# MODEL PROJECTION")).toBe(true);
  });
});
