/**
 * Report writers of the evaluation (seed healing_parser): CSV, PNG charts, one self-contained HTML page,
 * a PDF summary and the terminal summary — all printing the same Figure texts (pipeline.ts).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { EvaluationRun, Figure, VehicleResult } from "../pipeline.ts";
import { describeUse } from "../pipeline.ts";
import { renderChartSvg, svgToPng, type ChartSpec } from "./svg-chart.ts";

const isoTime = (s: number) => new Date(s * 1000).toISOString().replace(".000Z", "Z");

function csvField(v: unknown): string {
  const s = v === undefined || v === null ? "" : typeof v === "number" ? String(Number(v.toPrecision(10))) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(",")).join("\n") + "\n";
}

const safeName = (id: string) => id.replace(/[^A-Za-z0-9_.-]/g, "_");

/** Charts of one vehicle; projection charts carry the model label in their footnote. */
export function vehicleCharts(v: VehicleResult): { name: string; spec: ChartSpec }[] {
  const e = v.evaluation;
  const t0 = e.trips[0]?.startTimeS ?? 0;
  const days = (s: number) => (s - t0) / 86_400;
  const charts: { name: string; spec: ChartSpec }[] = [];
  const sohPoints = e.capacityPoints
    .filter((p) => (e.soh?.basis === "Ah" ? p.capacityAh !== undefined && e.ratedCapacityAh : e.ratedEnergyKwh))
    .map((p): [number, number] => [days(p.timeS), 100 * (e.soh?.basis === "Ah" ? p.capacityAh! / e.ratedCapacityAh! : p.energyCapacityKwh / e.ratedEnergyKwh!)]);
  charts.push({ name: "capacity", spec: {
    title: `${e.vehicleId}: SOH per segment (coulomb counting, |ΔSOC| ≥ 20 %)`, xLabel: "days since first trip", yLabel: "SOH [%]",
    series: [{ name: "measured segment SOH", points: sohPoints, style: "points" }],
    footnote: e.simulated ? "SIMULATED DATA" : undefined,
  } });
  charts.push({ name: "efficiency", spec: {
    title: `${e.vehicleId}: energy use per trip`, xLabel: "trip number", yLabel: "Wh/km",
    series: [{ name: "trip energy out / trip distance", points: e.trips.filter((t) => t.efficiencyWhPerKm !== undefined).map((t) => [t.index, t.efficiencyWhPerKm!]), style: "bar" }],
    footnote: e.simulated ? "SIMULATED DATA" : undefined,
  } });
  let efc = 0;
  const cycles: [number, number][] = [[0, 0]];
  for (const t of e.trips) {
    if (t.startSocPct !== undefined && t.endSocPct !== undefined) efc += Math.abs(t.endSocPct - t.startSocPct) / 200;
    cycles.push([days(t.endTimeS), efc]);
  }
  charts.push({ name: "cycles", spec: {
    title: `${e.vehicleId}: equivalent full cycles in the log`, xLabel: "days since first trip", yLabel: "cycles (Σ|ΔSOC| / 200 %)",
    series: [{ name: "cumulative equivalent full cycles", points: cycles, style: "line" }],
    footnote: e.simulated ? "SIMULATED DATA" : undefined,
  } });
  const c = v.comparison;
  if (c && e.remainingCapacityKwh !== undefined) {
    const kwh = (p: typeof c.baseline) => p.points.map((pt): [number, number] => [pt.day / 365, (e.remainingCapacityKwh! * pt.relativeCapacity) / p.points[0].relativeCapacity]);
    charts.push({ name: "projection", spec: {
      title: `${e.vehicleId}: MODEL PROJECTION of remaining capacity`, xLabel: "years from now", yLabel: "capacity [kWh]",
      series: [
        { name: "observed use (baseline)", points: kwh(c.baseline), style: "line" },
        { name: "recommended envelope", points: kwh(c.envelope), style: "line", dashed: true },
      ],
      footnote: `model projection (${c.baseline.model.name}; parameters and inputs in the report)${e.simulated ? " — from SIMULATED DATA" : ""}`,
    } });
  }
  return charts;
}

export interface WrittenReport {
  dir: string;
  files: string[];
}

export async function writeReport(run: EvaluationRun, dir: string, years: number): Promise<WrittenReport> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const put = async (name: string, data: string | Buffer) => {
    await writeFile(join(dir, name), data);
    files.push(name);
  };
  await put("summary.csv", toCsv(
    ["vehicle_id", "figure", "label", "value", "unit", "kind", "definition", "provenance"],
    run.vehicles.flatMap((v) => v.figures.map((f) => [v.evaluation.vehicleId, f.id, f.label, f.text, f.unit, f.kind, f.definition, f.provenance ?? ""])),
  ));
  await put("summary.json", JSON.stringify({ vehicles: run.vehicles.map((v) => ({ vehicleId: v.evaluation.vehicleId, simulated: v.evaluation.simulated, figures: v.figures, notes: v.notes })), importErrors: run.importErrors, importIssues: run.importIssues }, null, 2));
  await put("import-issues.csv", toCsv(["file", "row", "reason"], [
    ...run.importErrors.map((e) => [e.file, "", `${e.kind}: ${e.message}`]),
    ...run.importIssues.map((i) => [i.file, i.row, i.reason]),
  ]));
  const pngs = new Map<string, string>();
  for (const v of run.vehicles) {
    const id = safeName(v.evaluation.vehicleId);
    await put(`${id}-trips.csv`, toCsv(
      ["index", "kind", "start_utc", "end_utc", "distance_km", "energy_kwh", "efficiency_wh_per_km", "start_soc_pct", "end_soc_pct", "mean_temp_c"],
      v.evaluation.trips.map((t) => [t.index, t.kind, isoTime(t.startTimeS), isoTime(t.endTimeS), t.distanceKm, t.energyKwh, t.efficiencyWhPerKm, t.startSocPct, t.endSocPct, t.meanTemperatureC]),
    ));
    if (v.comparison && v.evaluation.remainingCapacityKwh !== undefined) {
      const b = v.comparison.baseline.points;
      const en = v.comparison.envelope.points;
      const now = v.evaluation.remainingCapacityKwh;
      await put(`${id}-projection.csv`, [
        `# MODEL PROJECTION (${v.comparison.baseline.model.name}); not measured. Source: ${v.comparison.baseline.model.citation}`,
        `# baseline inputs: ${describeUse(v.baselineUse!)}; envelope inputs: ${describeUse(v.envelopeUse!)}`,
        toCsv(["day", "baseline_efc", "baseline_relative_capacity", "baseline_capacity_kwh", "baseline_relative_resistance", "envelope_efc", "envelope_relative_capacity", "envelope_capacity_kwh", "envelope_relative_resistance"],
          b.map((p, i) => [p.day, p.efc, p.relativeCapacity, (now * p.relativeCapacity) / b[0].relativeCapacity, p.relativeResistance,
            en[i].efc, en[i].relativeCapacity, (now * en[i].relativeCapacity) / en[0].relativeCapacity, en[i].relativeResistance])),
      ].join("\n"));
    }
    for (const chart of vehicleCharts(v)) {
      const name = `${id}-${chart.name}.png`;
      const png = svgToPng(renderChartSvg(chart.spec));
      pngs.set(name, png.toString("base64"));
      await put(name, png);
    }
  }
  await put("report.html", renderHtml(run, pngs, years));
  await put("summary.pdf", await renderPdf(buildPdfDefinition(run, years)));
  return { dir, files };
}

const escHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function figureRowsHtml(figures: readonly Figure[]): string {
  return figures.map((f) =>
    `<tr><td>${escHtml(f.label)}</td><td class="num">${escHtml(f.text)} ${escHtml(f.unit)}</td><td>${escHtml(f.kind)}</td><td>${escHtml(f.definition)}${f.provenance ? `<br><small>${escHtml(f.provenance)}</small>` : ""}</td></tr>`,
  ).join("\n");
}

export function renderHtml(run: EvaluationRun, pngs: ReadonlyMap<string, string>, years: number): string {
  const sections = run.vehicles.map((v) => {
    const id = safeName(v.evaluation.vehicleId);
    const imgs = [...pngs.keys()].filter((k) => k.startsWith(`${id}-`)).map((k) => `<img alt="${escHtml(k)}" src="data:image/png;base64,${pngs.get(k)}">`).join("\n");
    const env = v.envelope
      ? `<h3>Recommended operating envelope</h3><p>SOC ${v.envelope.socMinPct}–${v.envelope.socMaxPct} %, charge ≤ ${v.envelope.maxChargeCRate} C, discharge ≤ ${v.envelope.maxDischargeCRate} C, no charging at or below ${v.envelope.noChargeBelowC} °C.</p><ul>${v.envelope.applied.map((a) => `<li><b>${escHtml(a.id)}</b>: ${escHtml(a.rationale)} <small>(${escHtml(a.citation)})</small></li>`).join("")}</ul>`
      : "";
    return `<section><h2>${escHtml(v.evaluation.vehicleId)}${v.evaluation.simulated ? " — SIMULATED DATA" : ""}</h2>
<p>Sources: ${v.evaluation.sources.map(escHtml).join(", ")}. Trips: ${v.evaluation.tripCount}, charge sessions: ${v.evaluation.chargeCount}.</p>
${v.notes.length ? `<ul class="notes">${v.notes.map((n) => `<li>${escHtml(n)}</li>`).join("")}</ul>` : ""}
<table><tr><th>figure</th><th>value</th><th>kind</th><th>definition</th></tr>
${figureRowsHtml(v.figures)}
</table>
${env}
${imgs}
</section>`;
  });
  const issues = [...run.importErrors.map((e) => `<li>${escHtml(e.file)}: ${escHtml(e.kind)} — ${escHtml(e.message)}</li>`),
    ...run.importIssues.map((i) => `<li>${escHtml(i.file)} row ${i.row}: ${escHtml(i.reason)}</li>`)];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AXVIAM evaluation report</title>
<style>body{font-family:system-ui,sans-serif;color:#222;max-width:1100px;margin:2em auto}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}td.num{text-align:right;white-space:nowrap}img{max-width:100%;display:block;margin:1em 0}.notes{color:#7a3e00}</style>
</head><body>
<h1>AXVIAM evaluation report</h1>
<p>Input folder: ${escHtml(run.inputDir)} (${run.files.length} files). Projection horizon: ${years} years. Figures marked "model projection" are outputs of an empirical ageing model, not measurements.</p>
${sections.join("\n")}
<h2>Import errors and skipped rows</h2>
${issues.length ? `<ul>${issues.join("\n")}</ul>` : "<p>none</p>"}
</body></html>
`;
}

/** pdfmake document definition (pure), so tests can read the texts the PDF carries. */
export function buildPdfDefinition(run: EvaluationRun, years: number): Record<string, unknown> {
  const content: unknown[] = [
    { text: "AXVIAM evaluation summary", style: "h1" },
    { text: `Input: ${run.inputDir}. Projection horizon ${years} years. "model projection" figures come from an empirical ageing model, not from measurement.`, margin: [0, 0, 0, 8] },
  ];
  for (const v of run.vehicles) {
    content.push({ text: `${v.evaluation.vehicleId}${v.evaluation.simulated ? " — SIMULATED DATA" : ""}`, style: "h2" });
    for (const n of v.notes) content.push({ text: n, color: "#7a3e00", fontSize: 8 });
    content.push({
      table: {
        headerRows: 1,
        widths: ["auto", "auto", "auto", "*"],
        body: [
          ["figure", "value", "kind", "definition"].map((t) => ({ text: t, bold: true })),
          ...v.figures.map((f) => [f.label, `${f.text} ${f.unit}`, f.kind, { text: [f.definition, ...(f.provenance ? ["\n", { text: f.provenance, fontSize: 6 }] : [])] }]),
        ],
      },
      fontSize: 8,
      margin: [0, 4, 0, 8],
    });
  }
  const issues = [...run.importErrors.map((e) => `${e.file}: ${e.kind} — ${e.message}`), ...run.importIssues.map((i) => `${i.file} row ${i.row}: ${i.reason}`)];
  content.push({ text: "Import errors and skipped rows", style: "h2" });
  content.push(issues.length ? { ul: issues, fontSize: 8 } : { text: "none", fontSize: 8 });
  return {
    info: { title: "AXVIAM evaluation summary" },
    content,
    defaultStyle: { font: "Roboto", fontSize: 10 },
    styles: { h1: { fontSize: 16, bold: true, margin: [0, 0, 0, 6] }, h2: { fontSize: 12, bold: true, margin: [0, 8, 0, 4] } },
  };
}

interface PdfMake {
  setFonts(fonts: unknown): void;
  setUrlAccessPolicy(fn: (url: string) => boolean): void;
  setLocalAccessPolicy(fn: (path: string) => boolean): void;
  createPdf(doc: unknown): { getBuffer(): Promise<Buffer> };
}

const require = createRequire(import.meta.url);
let pdfmake: PdfMake | undefined;

function pdf(): PdfMake {
  if (!pdfmake) {
    pdfmake = require("pdfmake") as PdfMake;
    const fonts = require("pdfmake/fonts/Roboto.js") as Record<string, Record<string, string>>;
    const fontDir = dirname(fonts.Roboto.normal);
    pdfmake.setFonts(fonts);
    // No remote resources; local reads only for the bundled fonts.
    pdfmake.setUrlAccessPolicy(() => false);
    pdfmake.setLocalAccessPolicy((path) => path.startsWith(fontDir));
  }
  return pdfmake;
}

export function renderPdf(doc: Record<string, unknown>): Promise<Buffer> {
  return pdf().createPdf(doc).getBuffer();
}

/** Terminal summary: each figure with unit, kind and one-line definition. */
export function formatTerminalSummary(run: EvaluationRun, reportDir: string): string {
  const lines: string[] = [];
  for (const v of run.vehicles) {
    lines.push(`\n${v.evaluation.vehicleId}${v.evaluation.simulated ? "  [SIMULATED DATA]" : ""}  (${v.evaluation.sources.join(", ")})`);
    for (const f of v.figures) {
      lines.push(`  ${f.label.padEnd(58)} ${`${f.text} ${f.unit}`.padStart(14)}  [${f.kind}]`);
      lines.push(`      ${f.definition}`);
      if (f.provenance) lines.push(`      ${f.provenance}`);
    }
    for (const n of v.notes) lines.push(`  note: ${n}`);
  }
  if (run.importErrors.length || run.importIssues.length) {
    lines.push("\nImport errors and skipped rows:");
    for (const e of run.importErrors) lines.push(`  ${e.file}: ${e.kind} — ${e.message}`);
    for (const i of run.importIssues) lines.push(`  ${i.file} row ${i.row}: ${i.reason}`);
  }
  lines.push(`\nReport written to ${reportDir}`);
  return lines.join("\n");
}
