/**
 * Maps the station's analysis results onto certificate content and passports. Pure: the caller
 * supplies the certificate id, the issue time and the station identity.
 *
 * Uncertainties: the analyses report standard uncertainties u (k = 1); a certificate states the
 * expanded uncertainty U = k·u with k = 2 (JCGM 100:2008, GUM §6.2–6.3), U rounded to two
 * significant digits and the value to the same decimal place (GUM §7.2.6), so the printed digits
 * are the stored digits and carry no false precision.
 */
import type { CellGrade, GradeReason } from "../domain/grading/lot-grading.ts";
import { GRADED_FIGURES, type GradedFigure, type GradingRules } from "../domain/grading/grading-rules.schema.ts";
import type { Imprint } from "../domain/imprint/imprint.ts";
import type { Measured } from "../domain/imprint/measured.ts";
import type { SecondLifeGrade } from "../domain/second-life/grade.ts";
import type { RouteReason } from "../domain/second-life/route.ts";
import type { Lot, Run } from "../station/run.types.ts";
import { CERTIFICATE_SCHEMA_VERSION, type CertificateContent, type CertificateCurve, type CertificateResult, type DecisionReason } from "./certificate.types.ts";
import { buildPassport, type CellPassport, type NegativeEvent, type PassportInput } from "./passport.ts";

export const COVERAGE_FACTOR = 2;

export interface CertificateMeta {
  /** certificate id (UUID) */
  id: string;
  /** ISO 8601 UTC */
  issuedAt: string;
  station: { id: string; name: string };
  lot: Lot;
  run: Run;
}

export class CertificateMappingError extends Error {
  constructor(serial: string, reason: string) {
    super(`certificate for ${serial}: ${reason}`);
    this.name = "CertificateMappingError";
  }
}

/** Value and expanded uncertainty rounded together (U to 2 significant digits, value to U's last digit). */
export function roundWithUncertainty(value: number, uncertainty: number): { value: number; uncertainty: number } {
  if (!(uncertainty > 0) || !Number.isFinite(uncertainty)) return { value: Number(value.toPrecision(6)), uncertainty: 0 };
  const decimals = 1 - Math.floor(Math.log10(uncertainty));
  const round = (x: number) => (decimals >= 0 ? Number(x.toFixed(Math.min(decimals, 20))) : Math.round(x / 10 ** -decimals) * 10 ** -decimals);
  return { value: round(value), uncertainty: round(uncertainty) };
}

/** A result row from a standard-uncertainty figure, scaled into the printed unit. */
function row(figure: string, label: string, m: Measured, unit: string, scale = 1, judged?: Pick<CertificateResult, "limit" | "pass">): CertificateResult {
  const r = roundWithUncertainty(m.value * scale, COVERAGE_FACTOR * m.uncertainty * Math.abs(scale));
  return { figure, label, value: r.value, unit, ...(r.uncertainty > 0 ? { uncertainty: r.uncertainty } : {}), ...judged };
}

function identity(meta: CertificateMeta): CertificateContent["identity"] {
  const { lot, run } = meta;
  const finishedAt = run.finishedAt ?? lot.finishedAt;
  if (!finishedAt) throw new CertificateMappingError(run.serial, `run ${run.id} has not finished`);
  return {
    serial: run.serial,
    chemistry: lot.chemistry,
    nominalCapacityAh: lot.nominalCapacityAh,
    lot: lot.id,
    cycler: run.cyclerId,
    channel: run.channel,
    recipe: { ...lot.recipe },
    operator: lot.operator,
    startedAt: run.startedAt,
    finishedAt,
  };
}

const IMPRINT_LABELS: Record<GradedFigure, string> = {
  capacityAh: "Discharge capacity C/3",
  energyWh: "Discharge energy C/3",
  coulombicEfficiency: "Coulombic efficiency",
  dcirMilliohm: "DCIR (IEC 61960), 50 % SOC",
  r10sMilliohm: "Resistance 10 s, 50 % SOC",
  ocvV: "OCV after rest",
  kValueMvPerDay: "K-value (OCV decay)",
  holdCurrentMicroA: "Potentiostatic hold current",
};

const GRADING_RULES: ReadonlySet<GradeReason["rule"]> = new Set(["missing", "spec-min", "spec-max", "outlier"]);

function gradeReason(r: GradeReason): DecisionReason {
  return {
    message: r.message,
    figure: r.figure,
    ...(r.value === null ? {} : { value: r.value }),
    unit: r.unit,
    ...(r.limit === null ? {} : { threshold: r.limit }),
  };
}

function entropyNote(method: "fast-relaxation-fit" | "potentiometric"): string {
  return method === "potentiometric"
    ? "dU/dT potentiometric: relaxed OCV at each chamber temperature, slope by regression; ΔS = F·dU/dT."
    : "dU/dT fitted while the cell relaxes after chamber temperature steps (OCV drift and thermal lag modelled together); ΔS = F·dU/dT.";
}

function curve(id: CertificateCurve["id"], title: string, xLabel: string, yLabel: string, series: CertificateCurve["series"]): CertificateCurve[] {
  const drawn = series.filter((s) => s.x.length > 0);
  return drawn.length === 0 ? [] : [{ id, title, xLabel, yLabel, series: drawn }];
}

function entropySeries(name: string, points: readonly { soc: number | null; dudtMvPerK: number; dudtUncertaintyMvPerK: number }[]): CertificateCurve["series"][number] {
  const sorted = points.filter((p): p is typeof p & { soc: number } => p.soc !== null).sort((a, b) => a.soc - b.soc);
  return {
    name,
    x: sorted.map((p) => Number((p.soc * 100).toFixed(3))),
    y: sorted.map((p) => p.dudtMvPerK),
    err: sorted.map((p) => COVERAGE_FACTOR * p.dudtUncertaintyMvPerK),
  };
}

function notes(simulated: boolean, extra: string[]): string[] {
  return [
    `Expanded uncertainties U = k·u with k = ${COVERAGE_FACTOR} (GUM, JCGM 100:2008); values rounded to the last digit of U.`,
    ...extra,
    ...(simulated ? ["Every figure was measured on SIMULATED equipment (physical cell model); it describes no real cell."] : []),
  ];
}

/**
 * Factory imprint certificate: every imprint figure with its limits and pass/fail from the lot
 * grading rules, the bin with every reason, discharge curve, dQ/dV and the entropy signature.
 */
export function imprintCertificateContent(meta: CertificateMeta, imprint: Imprint, grade: CellGrade, rules?: GradingRules): CertificateContent {
  if (imprint.serial !== meta.run.serial || grade.serial !== meta.run.serial) {
    throw new CertificateMappingError(meta.run.serial, `imprint of ${imprint.serial} / grade of ${grade.serial} given for run ${meta.run.id}`);
  }
  const results: CertificateResult[] = [];
  for (const figure of Object.keys(GRADED_FIGURES) as GradedFigure[]) {
    const measured = imprint[figure];
    const rule = rules?.figures[figure];
    if (!measured) continue;
    const limit = rule && (rule.min !== undefined || rule.max !== undefined) ? { ...(rule.min !== undefined ? { min: rule.min } : {}), ...(rule.max !== undefined ? { max: rule.max } : {}) } : undefined;
    // A graded figure passes when grading found nothing against it: spec limits and the lot outlier screen.
    const judged = rule ? { pass: !grade.reasons.some((r) => r.figure === figure && GRADING_RULES.has(r.rule)), ...(limit ? { limit } : {}) } : {};
    results.push(row(figure, IMPRINT_LABELS[figure], measured, GRADED_FIGURES[figure], 1, judged));
  }
  imprint.entropyProfile.forEach((p) => {
    results.push(row(`dudt_${p.label}MvPerK`, `dU/dT ${p.soc === null ? p.label : `at ${Number((p.soc * 100).toFixed(1))} % SOC`}`, { value: p.dudtMvPerK, uncertainty: p.dudtUncertaintyMvPerK }, "mV/K"));
  });
  imprint.icaPeaks.forEach((p, i) => {
    results.push({ figure: `icaPeak${i + 1}V`, label: `dQ/dV peak ${i + 1} position`, value: Number(p.voltageV.toFixed(4)), unit: "V" });
  });

  const reasons: DecisionReason[] = [
    ...(rules ? [{ message: `graded by rules ${rules.name} v${rules.version}` }] : []),
    ...(grade.reasons.length > 0 ? grade.reasons.map(gradeReason) : [{ message: "every graded figure within its specification limits and lot screens; bin A conditions met" }]),
  ];
  const simulated = meta.lot.simulated || imprint.simulated;
  return {
    schemaVersion: CERTIFICATE_SCHEMA_VERSION,
    id: meta.id,
    issuedAt: meta.issuedAt,
    station: { ...meta.station },
    identity: identity(meta),
    kind: "imprint",
    simulated,
    results,
    decision: { kind: "bin", value: grade.bin, reasons },
    curves: [
      ...curve("voltage", "Discharge voltage, last capacity cycle", "Charge / Ah", "Voltage / V", imprint.dischargeCurve ? [{ name: "measured", x: imprint.dischargeCurve.chargeAh, y: imprint.dischargeCurve.voltageV }] : []),
      ...curve("dqdv", "Incremental capacity dQ/dV", "Voltage / V", "dQ/dV / (Ah/V)", imprint.ica ? [{ name: "measured", x: imprint.ica.voltageV, y: imprint.ica.dqdvAhPerV }] : []),
      ...curve("dudt", "Entropy signature dU/dT", "SOC / %", "dU/dT / (mV/K)", [entropySeries("imprint", imprint.entropyProfile)]),
    ],
    uncertaintyNotes: notes(simulated, [...new Set(imprint.entropyProfile.map((p) => entropyNote(p.method)))]),
  };
}

/** The route reason of one rule, as a row's limit and verdict (thresholds of fractions are already in %). */
function judgedBy(reasons: readonly RouteReason[], rule: string, side: "min" | "max"): Pick<CertificateResult, "limit" | "pass"> {
  const r = reasons.find((x) => x.rule === rule);
  return r ? { limit: { [side]: r.threshold }, pass: r.passed } : {};
}

/**
 * Second-life certificate: capacities, SOH, DCIR and growth, self-discharge, degradation modes,
 * comparison with the imprint; the route with every check made; pseudo-OCV with the model fit,
 * dQ/dV and dU/dT, each with the imprint overlaid when the cell has one.
 */
export function secondLifeCertificateContent(meta: CertificateMeta, grade: SecondLifeGrade, imprint?: Imprint): CertificateContent {
  if (grade.serial !== meta.run.serial) throw new CertificateMappingError(meta.run.serial, `grade of ${grade.serial} given for run ${meta.run.id}`);
  if (imprint && imprint.serial !== grade.serial) throw new CertificateMappingError(grade.serial, `imprint of ${imprint.serial} given as its baseline`);
  const reasons = grade.route.reasons;
  const chosenRoute = grade.route.route;
  const results: CertificateResult[] = [
    ...(grade.capacity.dischargeAh ? [row("capacityAh", "Discharge capacity C/3", grade.capacity.dischargeAh, "Ah")] : []),
    row("lowRateCapacityAh", "Discharge capacity C/20", grade.capacity.lowRateAh, "Ah"),
    row("equilibriumCapacityAh", "Equilibrium capacity (mode fit)", grade.capacity.equilibriumAh, "Ah"),
    row("sohCapacityPercent", `SOH (capacity) vs ${grade.soh.reference === "imprint" ? "imprint" : "rated"}`, grade.soh.capacity, "%", 100, judgedBy(reasons, `routes.${chosenRoute}.minSohCapacity`, "min")),
    row("dcir10sMilliohm", "DCIR 10 s, 50 % SOC", grade.dcirMilliohm, "mΩ"),
    row("resistanceGrowthPercent", "Resistance growth", grade.soh.resistance.resistanceGrowth, "%", 100, judgedBy(reasons, "safety.maxResistanceGrowth", "max")),
    row("sohResistancePercent", "SOH (resistance)", grade.soh.resistance.sohResistance, "%", 100),
    ...(grade.selfDischargeMicroA
      ? [row("selfDischargeMicroA", "Self-discharge (hold current)", grade.selfDischargeMicroA, "µA", 1, judgedBy(reasons, "safety.maxSelfDischargeMicroA", "max"))]
      : []),
    row("lliPercent", "Loss of lithium inventory (LLI)", grade.modes.lli, "%", 100),
    row("lamNePercent", "Loss of active material, negative (LAM_NE)", grade.modes.lamNe, "%", 100, judgedBy(reasons, "safety.plating.maxLamNe", "max")),
    row("lamPePercent", "Loss of active material, positive (LAM_PE)", grade.modes.lamPe, "%", 100),
    ...(grade.comparison?.capacityFade ? [row("capacityFadePercent", "Capacity fade vs imprint (C/3)", grade.comparison.capacityFade, "%", 100)] : []),
    ...(grade.comparison?.dcirIncrease ? [row("dcirIncreasePercent", "DCIR increase vs imprint", grade.comparison.dcirIncrease, "%", 100)] : []),
    ...grade.entropy.points
      .slice()
      .sort((a, b) => a.soc - b.soc)
      .map((p) => row(`dudtSoc${Math.round(p.soc * 100)}MvPerK`, `dU/dT at ${Number((p.soc * 100).toFixed(1))} % SOC`, { value: p.dudtMvPerK, uncertainty: p.dudtUncertaintyMvPerK }, "mV/K")),
  ];
  const decisionReasons: DecisionReason[] = reasons.map((r) => ({
    message: `${r.passed ? "pass" : "FAIL"} [${r.kind}] ${r.message}`,
    figure: r.figure,
    ...(r.value === null ? {} : { value: r.value }),
    unit: r.unit,
    threshold: r.threshold,
  }));
  const overlay = imprint !== undefined;
  const simulated = meta.lot.simulated || grade.simulated;
  return {
    schemaVersion: CERTIFICATE_SCHEMA_VERSION,
    id: meta.id,
    issuedAt: meta.issuedAt,
    station: { ...meta.station },
    identity: identity(meta),
    kind: "second-life",
    simulated,
    results,
    decision: { kind: "route", value: grade.route.label, reasons: decisionReasons },
    curves: [
      ...curve("voltage", "Pseudo-OCV (C/20 discharge) and half-cell model fit", "Discharged charge / Ah", "Voltage / V", [
        { name: "measured C/20", x: grade.modes.ocvCurve.map((p) => p.dischargedAh), y: grade.modes.ocvCurve.map((p) => p.measuredV) },
        { name: "model fit", x: grade.modes.ocvCurve.map((p) => p.dischargedAh), y: grade.modes.ocvCurve.map((p) => p.fittedV) },
      ]),
      ...curve("dqdv", overlay ? "Incremental capacity dQ/dV vs imprint" : "Incremental capacity dQ/dV", "Voltage / V", "dQ/dV / (Ah/V)", [
        { name: "second life", x: grade.ica.curve.voltageV, y: grade.ica.curve.dqdvAhPerV },
        ...(imprint?.ica ? [{ name: "imprint", x: imprint.ica.voltageV, y: imprint.ica.dqdvAhPerV }] : []),
      ]),
      ...curve("dudt", overlay ? "Entropy profile dU/dT vs imprint" : "Entropy profile dU/dT", "SOC / %", "dU/dT / (mV/K)", [
        entropySeries("second life", grade.entropy.points),
        ...(imprint ? [entropySeries("imprint", imprint.entropyProfile)] : []),
      ]),
    ],
    uncertaintyNotes: notes(simulated, [
      entropyNote(grade.entropy.method),
      "LLI, LAM_NE and LAM_PE from a fit of the half-cell model to the pseudo-OCV, relaxed OCVs and dU/dT (Dubarry's degradation modes); σ from the fit covariance.",
    ]),
  };
}

export type CellResults =
  | { kind: "imprint"; imprint: Imprint; grade?: CellGrade }
  | { kind: "second-life"; grade: SecondLifeGrade; imprint?: Imprint };

/** Passport of one certified cell (passport.ts); figures in the passport's units, uncertainty of the remaining capacity at k = 2. */
export function passportFromResults(meta: Pick<CertificateMeta, "lot" | "run" | "station"> & { certificateId?: string }, results: CellResults): CellPassport {
  const { lot, run } = meta;
  const measuredAt = run.finishedAt ?? lot.finishedAt;
  if (!measuredAt) throw new CertificateMappingError(run.serial, `run ${run.id} has not finished`);
  const base = {
    serial: run.serial,
    chemistry: lot.chemistry,
    lot: lot.id,
    station: { ...meta.station },
    ...(meta.certificateId ? { certificateId: meta.certificateId } : {}),
    measuredAt,
    ratedCapacityAh: lot.nominalCapacityAh,
  };
  const events: NegativeEvent[] = [];
  let input: PassportInput;
  if (results.kind === "imprint") {
    const { imprint, grade } = results;
    if (!imprint.capacityAh) throw new CertificateMappingError(run.serial, "the imprint has no capacity; a passport needs the remaining capacity");
    if (grade?.reasons.some((r) => r.figure === "kValueMvPerDay" && (r.rule === "outlier" || r.rule === "spec-max"))) {
      events.push({ kind: "micro-short-suspected", at: measuredAt, description: "K-value above the lot screen (factory imprint)" });
    }
    const dischargedAh = imprint.cycles.reduce((s, c) => s + c.dischargeAh, 0) + (imprint.formation?.dischargeAh ?? 0);
    input = {
      ...base,
      simulated: lot.simulated || imprint.simulated,
      imprintedAt: measuredAt,
      initialCapacityAh: imprint.capacityAh.value,
      remainingCapacityAh: imprint.capacityAh.value,
      remainingCapacityUncertaintyAh: COVERAGE_FACTOR * imprint.capacityAh.uncertainty,
      ...(imprint.dcirMilliohm ? { initialInternalResistanceMilliohm: imprint.dcirMilliohm.value, currentInternalResistanceMilliohm: imprint.dcirMilliohm.value } : {}),
      ...(imprint.kValueMvPerDay ? { selfDischargeMvPerDay: imprint.kValueMvPerDay.value } : {}),
      // Full equivalent cycles: discharged charge / rated capacity (EU 2023/1542 Annex XIII 1(b)).
      fullEquivalentCycles: Number((dischargedAh / lot.nominalCapacityAh).toFixed(3)),
      negativeEvents: events,
    };
  } else {
    const { grade, imprint } = results;
    const failed = (rule: string) => grade.route.reasons.some((r) => r.rule === rule && r.value !== null && !r.passed);
    if (failed("safety.maxSelfDischargeMicroA")) events.push({ kind: "micro-short-suspected", at: measuredAt, description: "self-discharge hold current above the safety screen" });
    if (["safety.plating.maxLamNe", "safety.plating.maxLamNeOverLli", "safety.plating.maxNegStoichiometryAtFull"].some(failed)) {
      events.push({ kind: "other", at: measuredAt, description: "degradation-mode pattern suggests lithium-plating risk" });
    }
    input = {
      ...base,
      simulated: lot.simulated || grade.simulated,
      ...(imprint?.capacityAh ? { initialCapacityAh: imprint.capacityAh.value } : {}),
      remainingCapacityAh: grade.capacity.equilibriumAh.value,
      remainingCapacityUncertaintyAh: COVERAGE_FACTOR * grade.capacity.equilibriumAh.uncertainty,
      ...(imprint?.dcirMilliohm ? { initialInternalResistanceMilliohm: imprint.dcirMilliohm.value } : {}),
      currentInternalResistanceMilliohm: grade.dcirMilliohm.value,
      negativeEvents: events,
    };
  }
  return buildPassport(input);
}
