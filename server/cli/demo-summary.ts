/**
 * The demo's closing account (server/cli/demo.ts): what each cell got and why, the key figures with their
 * uncertainties, and where every output is. Only formats what the station and the evaluation computed; the
 * SIMULATED label goes on everything because the demo only ever runs simulated equipment and sample logs.
 */
import path from "node:path";
import type { CertificateEntry } from "../certificates/certificate-issuer.ts";
import type { VerificationResult } from "../certificates/verify.ts";
import type { CellGrade, LotGrade } from "../domain/grading/lot-grading.ts";
import type { Imprint } from "../domain/imprint/imprint.ts";
import type { Measured } from "../domain/imprint/measured.ts";
import type { RouteDecision } from "../domain/second-life/route.ts";
import type { SecondLifeGrade } from "../domain/second-life/grade.ts";
import type { EvaluationRun } from "../evaluation/pipeline.ts";
import type { LotDetail } from "../station/station-service.ts";

export interface LotOutcome {
  detail: LotDetail;
  certificates: CertificateEntry[];
  /** channels the demo config gives a micro-short (an injected defect the screen should find) */
  microShortChannels: readonly number[];
}

export interface DemoOutcome {
  configFile: string;
  dataDir: string;
  logFile: string;
  speed: number | "afap" | "manual";
  simulatedElapsedS: number;
  /** simulated time the clock could not keep up with (the machine was slower than the speed factor asked) */
  simulatedBehindS: number;
  lots: LotOutcome[];
  certificatesDir: string;
  tracesDir: string;
  verified?: { entry: CertificateEntry; result: VerificationResult };
  archives: string[];
  reportDir: string;
  reportFiles: string[];
  evaluation: EvaluationRun;
  wallS: number;
}

type StoredImprint = { kind: "imprint" } & Imprint;
type StoredSecondLife = { kind: "second-life" } & SecondLifeGrade;

const isKind = <K extends string>(v: unknown, kind: K): boolean => typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === kind;

/** value ± standard uncertainty (k = 1), with the uncertainty's leading digits deciding the decimals */
export function formatMeasured(m: Measured | null | undefined, unit: string, scale = 1): string {
  if (!m) return "n/a";
  const value = m.value * scale;
  const u = Math.abs(m.uncertainty * scale);
  const decimals = u > 0 && Number.isFinite(u) ? Math.min(6, Math.max(0, 1 - Math.floor(Math.log10(u)))) : 3;
  return `${value.toFixed(decimals)} ± ${u.toFixed(decimals)} ${unit}`;
}

const hours = (s: number) => `${(s / 3600).toFixed(1)} h`;
const rel = (p: string) => path.relative(process.cwd(), p) || ".";

function equipmentHours(d: LotDetail): string {
  const times = d.runs.map((r) => r.equipmentTimeS);
  return `${hours(Math.max(...times))} simulated equipment time per channel (max of ${times.length} channels)`;
}

function imprintSection(o: LotOutcome, lines: string[]): void {
  const d = o.detail;
  const grade = isKind(d.lotResult, "imprint") ? (d.lotResult as LotGrade) : undefined;
  lines.push(`\nFACTORY IMPRINT — lot ${d.lot.id}, ${d.lot.recipe.name}@${d.lot.recipe.version}, state ${d.lot.state} [SIMULATED]`);
  lines.push(`  ${equipmentHours(d)}`);
  if (grade) lines.push(`  grading rules ${grade.rules.name}@${grade.rules.version}; bins from datasheet limits and lot statistics`);
  lines.push(`  ${"serial".padEnd(12)} ${"bin".padEnd(7)} ${"capacity".padEnd(20)} ${"DCIR (IEC 61960)".padEnd(20)} ${"K-value".padEnd(24)} hold current`);
  for (const run of d.runs) {
    const result = d.results[run.serial];
    const imprint = isKind(result, "imprint") ? (result as StoredImprint) : undefined;
    const cell: CellGrade | undefined = grade?.perCell.find((c) => c.serial === run.serial);
    const defect = o.microShortChannels.includes(run.channel) ? `  (channel ${run.channel}: micro-short injected by the demo config)` : "";
    if (run.state !== "complete" || !imprint) {
      lines.push(`  ${run.serial.padEnd(12)} ${"—".padEnd(7)} run ${run.state}${run.reason ? `: ${run.reason}` : ""}${imprint ? "" : " (no imprint)"}${defect}`);
      continue;
    }
    lines.push(`  ${run.serial.padEnd(12)} ${(cell?.bin ?? "?").padEnd(7)} ${formatMeasured(imprint.capacityAh, "Ah").padEnd(20)} ${formatMeasured(imprint.dcirMilliohm, "mΩ").padEnd(20)} ${formatMeasured(imprint.kValueMvPerDay, "mV/day").padEnd(24)} ${formatMeasured(imprint.holdCurrentMicroA, "µA")}${defect}`);
    for (const r of cell?.reasons ?? []) lines.push(`      reason: ${r.message}`);
  }
  if (grade) {
    lines.push(`  matching groups (pack assembly): ${grade.matchingGroups.length === 0 ? "none" : grade.matchingGroups.map((g) => `[${g.join(", ")}]`).join(" ")}${grade.unmatched.length ? `; unmatched: ${grade.unmatched.join(", ")}` : ""}`);
  }
}

/**
 * The checks that explain a route: the failed safety/confidence screens when any failed; otherwise why each better
 * route was missed (its failed checks) and what the chosen route required (its checks, all passed).
 */
export function explainingReasons(route: RouteDecision): string[] {
  const screens = route.reasons.filter((r) => r.kind !== "route" && !r.passed);
  if (screens.length > 0) return screens.map((r) => r.message);
  const routeOf = (rule: string) => rule.split(".")[1];
  const order = [...new Set(route.reasons.filter((r) => r.kind === "route").map((r) => routeOf(r.rule)))];
  const chosen = order.indexOf(route.route);
  return route.reasons
    .filter((r) => {
      if (r.kind !== "route") return false;
      const i = order.indexOf(routeOf(r.rule));
      return chosen === -1 ? !r.passed : (i < chosen && !r.passed) || i === chosen;
    })
    .map((r) => r.message);
}

function secondLifeSection(o: LotOutcome, lines: string[]): void {
  const d = o.detail;
  lines.push(`\nSECOND-LIFE GRADING — lot ${d.lot.id}, ${d.lot.recipe.name}@${d.lot.recipe.version}, state ${d.lot.state} [SIMULATED]`);
  lines.push(`  ${equipmentHours(d)}; uncertainties are standard (k = 1)`);
  for (const run of d.runs) {
    const result = d.results[run.serial];
    const g = isKind(result, "second-life") ? (result as StoredSecondLife) : undefined;
    if (run.state !== "complete" || !g) {
      lines.push(`  ${run.serial}: run ${run.state}${run.reason ? `: ${run.reason}` : ""}${g ? "" : " (no grade)"}`);
      continue;
    }
    lines.push(`  ${run.serial}  route: ${g.route.label} (${g.route.route})`);
    lines.push(`      SOH (capacity, vs ${g.soh.reference}) ${formatMeasured(g.soh.capacity, "%", 100)}   capacity C/3 ${formatMeasured(g.capacity.dischargeAh, "Ah")}   DCIR ${formatMeasured(g.dcirMilliohm, "mΩ")}   resistance growth ${formatMeasured(g.soh.resistance.resistanceGrowth, "%", 100)}`);
    lines.push(`      LLI ${formatMeasured(g.modes.lli, "%", 100)}   LAM_NE ${formatMeasured(g.modes.lamNe, "%", 100)}   LAM_PE ${formatMeasured(g.modes.lamPe, "%", 100)}   self-discharge ${formatMeasured(g.selfDischargeMicroA, "µA")}   dU/dT points ${g.entropy.points.length}`);
    for (const m of explainingReasons(g.route)) lines.push(`      reason: ${m}`);
  }
}

function evaluationSection(o: DemoOutcome, lines: string[]): void {
  const run = o.evaluation;
  lines.push(`\nBMS-LOG EVALUATION — ${rel(run.inputDir)} (${run.files.length} files; SIMULATED sample logs, see its README.md)`);
  for (const v of run.vehicles) {
    lines.push(`  ${v.evaluation.vehicleId}${v.evaluation.simulated ? " [SIMULATED DATA]" : ""}`);
    for (const f of v.figures) lines.push(`      ${f.label.padEnd(56)} ${`${f.text} ${f.unit}`.padStart(16)}  [${f.kind}]`);
  }
  if (run.importErrors.length || run.importIssues.length) {
    lines.push(`  import: ${run.importErrors.length} file(s) rejected, ${run.importIssues.length} row(s) skipped (listed in import-issues.csv)`);
  }
  lines.push(`  report folder: ${rel(o.reportDir)}  (${o.reportFiles.filter((f) => /\.(html|pdf)$/.test(f)).join(", ")}, ${o.reportFiles.filter((f) => f.endsWith(".csv")).length} CSV, ${o.reportFiles.filter((f) => f.endsWith(".png")).length} PNG)`);
}

export function formatDemoSummary(o: DemoOutcome): string {
  const lines: string[] = [];
  lines.push("\n==============================================================================");
  lines.push(" DEMO SUMMARY — SIMULATED DATA: simulated cyclers, chambers and cells; simulated");
  lines.push(" sample BMS logs. No figure below is a measurement of a real cell or vehicle.");
  lines.push("==============================================================================");
  for (const lot of o.lots) {
    if (lot.detail.lot.kind === "imprint") imprintSection(lot, lines);
    else secondLifeSection(lot, lines);
  }
  lines.push("\nCERTIFICATES");
  for (const lot of o.lots) {
    lines.push(`  lot ${lot.detail.lot.id}: ${lot.certificates.length} signed certificates (PDF + JSON + passport)`);
  }
  lines.push(`  folder: ${rel(o.certificatesDir)}`);
  if (o.verified) {
    const r = o.verified.result;
    lines.push(`  verified ${o.verified.entry.paths.pdf} (${r.serial ?? "?"}, ${r.gradeSummary ?? "?"}${r.simulated ? ", SIMULATED" : ""}): ${r.authentic ? "authentic" : "NOT authentic"}, ${r.unmodified ? "unmodified" : "MODIFIED"} — ${r.reason}`);
  } else {
    lines.push("  no certificate was issued, nothing to verify");
  }
  lines.push(`  lot archives: ${o.archives.length ? o.archives.map(rel).join(", ") : "none"}`);
  lines.push(`  traces (Battery Data Format CSV per run): ${rel(o.tracesDir)}/<lot>/<run>.csv`);
  evaluationSection(o, lines);
  lines.push("\nTIME");
  const behind = o.simulatedBehindS > 60 ? `; the machine could not keep up for ${hours(o.simulatedBehindS)} of it` : "";
  lines.push(`  the simulated clock ran ${hours(o.simulatedElapsedS)} at ${o.speed}× wall time; the demo took ${o.wallS.toFixed(0)} s wall${behind}`);
  lines.push(`  station log: ${rel(o.logFile)}; data folder: ${rel(o.dataDir)}`);
  return lines.join("\n");
}
