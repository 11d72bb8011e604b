/**
 * Route one second-life cell by the configured rules, listing every check made: safety screens first (any
 * failure forces recycle), then the confidence screen (any failure sends the cell to re-test instead of a route
 * its figures may not deserve), then the routes in order (the first whose conditions all pass).
 */
import type { Measured } from "../imprint/measured.ts";
import type { RoutingRules } from "./routing-rules.schema.ts";

/** The figures routing looks at; optional ones that are missing are reported, never assumed healthy. */
export interface RoutingFigures {
  sohCapacity: Measured;
  resistanceGrowth: Measured;
  /** potentiostatic hold current [µA]; missing = not measured */
  selfDischargeMicroA?: Measured;
  modes?: { lli: Measured; lamNe: Measured; lamPe: Measured; negStoichiometryAtFull: number };
  /** largest dU/dT uncertainty of the entropy profile [mV/K] */
  maxDudtUncertaintyMvPerK?: number;
}

export type ReasonKind = "safety" | "confidence" | "route";

export interface RouteReason {
  kind: ReasonKind;
  /** the rule's name, e.g. "safety.maxResistanceGrowth" or "routes.stationary-storage-a.minSohCapacity" */
  rule: string;
  figure: string;
  value: number | null;
  unit: string;
  threshold: number;
  passed: boolean;
  message: string;
}

export interface RouteDecision {
  route: string;
  label: string;
  reasons: RouteReason[];
}

const RETEST = { id: "retest", label: "Re-test (measurement not conclusive)" };

/** Fractions (SOH, growth, modes) are compared as given and reported in % so a reader sees "82.4 %" not "0.824". */
function check(kind: ReasonKind, rule: string, figure: string, raw: number | null, rawUnit: string, op: "<=" | ">=", rawThreshold: number): RouteReason {
  const percent = rawUnit === "fraction";
  const unit = percent ? "%" : rawUnit;
  const value = raw === null ? null : percent ? raw * 100 : raw;
  const threshold = percent ? rawThreshold * 100 : rawThreshold;
  const passed = raw !== null && Number.isFinite(raw) && (op === "<=" ? raw <= rawThreshold : raw >= rawThreshold);
  const shown = value === null ? "not measured" : `${fmt(value)} ${unit}`;
  const message = `${figure} ${shown} ${passed ? "meets" : "fails"} ${op} ${fmt(threshold)} ${unit}`.replace(/\s+/g, " ");
  return { kind, rule, figure, value, unit, threshold, passed, message };
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}

export function routeCell(m: RoutingFigures, rules: RoutingRules): RouteDecision {
  const s = rules.safety;
  const c = rules.confidence;
  const safety: RouteReason[] = [
    check("safety", "safety.maxSelfDischargeMicroA", "self-discharge hold current", m.selfDischargeMicroA?.value ?? null, "µA", "<=", s.maxSelfDischargeMicroA),
    check("safety", "safety.maxResistanceGrowth", "resistance growth", m.resistanceGrowth.value, "fraction", "<=", s.maxResistanceGrowth),
    check("safety", "safety.plating.maxLamNe", "LAM_NE", m.modes?.lamNe.value ?? null, "fraction", "<=", s.plating.maxLamNe),
    check("safety", "safety.plating.maxLamNeOverLli", "LAM_NE − LLI", m.modes ? m.modes.lamNe.value - m.modes.lli.value : null, "fraction", "<=", s.plating.maxLamNeOverLli),
    check("safety", "safety.plating.maxNegStoichiometryAtFull", "negative-electrode stoichiometry at 100 % SOC", m.modes?.negStoichiometryAtFull ?? null, "fraction", "<=", s.plating.maxNegStoichiometryAtFull),
  ];
  // An unmeasured self-discharge or mode set is a confidence problem (re-test), not a safety verdict.
  const unmeasured = safety.filter((r) => r.value === null);
  const safetyFailed = safety.some((r) => r.value !== null && !r.passed);
  const modeUncertainty = m.modes ? Math.max(m.modes.lli.uncertainty, m.modes.lamNe.uncertainty, m.modes.lamPe.uncertainty) : null;
  const confidence: RouteReason[] = [
    check("confidence", "confidence.maxSohUncertainty", "SOH uncertainty", m.sohCapacity.uncertainty, "fraction", "<=", c.maxSohUncertainty),
    check("confidence", "confidence.maxResistanceGrowthUncertainty", "resistance growth uncertainty", m.resistanceGrowth.uncertainty, "fraction", "<=", c.maxResistanceGrowthUncertainty),
    check("confidence", "confidence.maxModeUncertainty", "largest degradation-mode uncertainty", modeUncertainty, "fraction", "<=", c.maxModeUncertainty),
    check("confidence", "confidence.maxDudtUncertaintyMvPerK", "largest dU/dT uncertainty", m.maxDudtUncertaintyMvPerK ?? null, "mV/K", "<=", c.maxDudtUncertaintyMvPerK),
  ];
  const confident = unmeasured.length === 0 && confidence.every((r) => r.passed);
  const routeReasons: RouteReason[] = [];
  let chosen: { id: string; label: string } | null = null;
  for (const route of rules.routes) {
    const checks = [check("route", `routes.${route.id}.minSohCapacity`, "SOH (capacity)", m.sohCapacity.value, "fraction", ">=", route.minSohCapacity)];
    if (route.maxResistanceGrowth !== undefined) {
      checks.push(check("route", `routes.${route.id}.maxResistanceGrowth`, "resistance growth", m.resistanceGrowth.value, "fraction", "<=", route.maxResistanceGrowth));
    }
    routeReasons.push(...checks.map((r) => ({ ...r, message: `${route.id}: ${r.message}` })));
    if (!chosen && checks.every((r) => r.passed)) chosen = { id: route.id, label: route.label };
  }
  const reasons = [...safety, ...confidence, ...routeReasons];
  if (safetyFailed) return { route: rules.fallback.id, label: `${rules.fallback.label} (safety screen)`, reasons };
  if (!confident) return { route: RETEST.id, label: RETEST.label, reasons };
  return { route: chosen?.id ?? rules.fallback.id, label: chosen?.label ?? rules.fallback.label, reasons };
}
