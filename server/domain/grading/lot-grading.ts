/**
 * Lot grading of imprinted cells (DESIGN §6): specification limits from the datasheet, robust lot outliers
 * (k·σ from the median; a high K-value outlier is the classic micro-short screen), bins A/B/C/reject, and
 * matching groups within each bin. Every reason is listed — a rejected cell lists ALL its failing figures, a
 * B or C cell lists the conditions it missed for the better bins.
 */
import type { Measured } from "../imprint/measured.ts";
import { GRADED_FIGURES, type BinCondition, type FigureRule, type GradedFigure, type GradingRules } from "./grading-rules.schema.ts";
import { percentile, robustZ, summarise, type RobustSummary } from "./lot-statistics.ts";
import { matchCells } from "./matching.ts";

export type Bin = "A" | "B" | "C" | "reject";

export interface GradeReason {
  figure: GradedFigure;
  value: number | null;
  unit: string;
  /** the limit the value was held against (null for a missing figure) */
  limit: number | null;
  rule: "missing" | "spec-min" | "spec-max" | "outlier" | "bin-A" | "bin-B";
  message: string;
}

export interface CellGrade {
  serial: string;
  bin: Bin;
  reasons: GradeReason[];
  /** robust z-score per graded figure */
  zScores: Partial<Record<GradedFigure, number>>;
}

export type GradableImprint = { serial: string } & Partial<Record<GradedFigure, Measured | null>>;

export interface LotGrade {
  perCell: CellGrade[];
  statistics: Partial<Record<GradedFigure, RobustSummary>>;
  matchingGroups: string[][];
  unmatched: string[];
  rules: { name: string; version: string };
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(3) : x.toPrecision(3));

/** Where the outlier screen works: the raw value, or its logarithm (see FigureRule.outlierScale). */
function screened(rule: FigureRule, value: number): number {
  return rule.outlierScale === "log" ? Math.log(Math.max(value, rule.minSigma > 0 ? rule.minSigma : Number.MIN_VALUE)) : value;
}

function screenSummary(rule: FigureRule, values: readonly number[]): RobustSummary {
  return rule.outlierScale === "log" ? summarise(values.map((v) => screened(rule, v)), rule.minLogSigma) : summarise(values, rule.minSigma);
}

function rejectReasons(figure: GradedFigure, value: number | null, rule: FigureRule, stats: RobustSummary | undefined): GradeReason[] {
  const unit = GRADED_FIGURES[figure];
  if (value === null) {
    return rule.required ? [{ figure, value, unit, limit: null, rule: "missing", message: `${figure} was not measured` }] : [];
  }
  const reasons: GradeReason[] = [];
  if (rule.min !== undefined && value < rule.min) {
    reasons.push({ figure, value, unit, limit: rule.min, rule: "spec-min", message: `${figure} ${fmt(value)} ${unit} is below the specification minimum ${rule.min} ${unit}` });
  }
  if (rule.max !== undefined && value > rule.max) {
    reasons.push({ figure, value, unit, limit: rule.max, rule: "spec-max", message: `${figure} ${fmt(value)} ${unit} is above the specification maximum ${rule.max} ${unit}` });
  }
  if (rule.outlierK !== undefined && stats !== undefined) {
    const z = robustZ(screened(rule, value), stats);
    const k = rule.outlierK;
    const high = z > k && rule.outlierSide !== "low";
    const low = z < -k && rule.outlierSide !== "high";
    if (high || low) {
      const log = rule.outlierScale === "log";
      const back = (x: number) => (log ? Math.exp(x) : x);
      const limit = back(stats.median + (high ? k : -k) * stats.robustSigma);
      reasons.push({
        figure, value, unit, limit, rule: "outlier",
        message: `${figure} ${fmt(value)} ${unit} is ${fmt(Math.abs(z))} σ ${high ? "above" : "below"} the lot median ${fmt(back(stats.median))} ${unit}${log ? " on a log scale" : ""} (limit ${k} σ = ${fmt(limit)} ${unit})`,
      });
    }
  }
  return reasons;
}

function binMisses(bin: "A" | "B", conditions: readonly BinCondition[], values: Partial<Record<GradedFigure, number | null>>, lot: Partial<Record<GradedFigure, number[]>>, stats: Partial<Record<GradedFigure, RobustSummary>>, rules: GradingRules): GradeReason[] {
  const rule = `bin-${bin}` as const;
  return conditions.flatMap((c): GradeReason[] => {
    const value = values[c.figure] ?? null;
    const unit = GRADED_FIGURES[c.figure];
    const s = stats[c.figure];
    const lotValues = lot[c.figure] ?? [];
    if (value === null || s === undefined) return [{ figure: c.figure, value, unit, limit: null, rule, message: `${c.figure} is needed for bin ${bin}` }];
    const misses: GradeReason[] = [];
    const figureRule = rules.figures[c.figure];
    const z = figureRule ? robustZ(screened(figureRule, value), s) : robustZ(value, s);
    if (c.maxAbsZ !== undefined && Math.abs(z) > c.maxAbsZ) {
      misses.push({ figure: c.figure, value, unit, limit: c.maxAbsZ, rule, message: `bin ${bin} needs ${c.figure} within ${c.maxAbsZ} σ of the lot median; it is ${fmt(Math.abs(z))} σ away` });
    }
    if (c.maxPercentile !== undefined) {
      const limit = percentile(lotValues, c.maxPercentile);
      if (value > limit) misses.push({ figure: c.figure, value, unit, limit, rule, message: `bin ${bin} needs ${c.figure} ≤ the lot's P${c.maxPercentile} (${fmt(limit)} ${unit}); it is ${fmt(value)} ${unit}` });
    }
    if (c.minPercentile !== undefined) {
      const limit = percentile(lotValues, c.minPercentile);
      if (value < limit) misses.push({ figure: c.figure, value, unit, limit, rule, message: `bin ${bin} needs ${c.figure} ≥ the lot's P${c.minPercentile} (${fmt(limit)} ${unit}); it is ${fmt(value)} ${unit}` });
    }
    return misses;
  });
}

export function gradeLot(imprints: readonly GradableImprint[], rules: GradingRules): LotGrade {
  const figures = Object.keys(rules.figures) as GradedFigure[];
  const valueOf = (imp: GradableImprint, f: GradedFigure): number | null => imp[f]?.value ?? null;
  const lot: Partial<Record<GradedFigure, number[]>> = {};
  /** reported: on the figure's own scale; screen: where the outlier screen and z-scores work (linear or log) */
  const statistics: Partial<Record<GradedFigure, RobustSummary>> = {};
  const screen: Partial<Record<GradedFigure, RobustSummary>> = {};
  for (const f of figures) {
    const values = imprints.map((imp) => valueOf(imp, f)).filter((v): v is number => v !== null && Number.isFinite(v));
    lot[f] = values;
    if (values.length > 0) {
      statistics[f] = summarise(values, rules.figures[f]!.minSigma);
      screen[f] = screenSummary(rules.figures[f]!, values);
    }
  }
  const perCell = imprints.map((imp): CellGrade => {
    const values = Object.fromEntries(figures.map((f) => [f, valueOf(imp, f)])) as Partial<Record<GradedFigure, number | null>>;
    const zScores = Object.fromEntries(
      figures.filter((f) => values[f] !== null && screen[f] !== undefined).map((f) => [f, robustZ(screened(rules.figures[f]!, values[f]!), screen[f]!)]),
    ) as Partial<Record<GradedFigure, number>>;
    const rejects = figures.flatMap((f) => rejectReasons(f, values[f] ?? null, rules.figures[f]!, screen[f]));
    if (rejects.length > 0) return { serial: imp.serial, bin: "reject", reasons: rejects, zScores };
    const missA = binMisses("A", rules.bins.A, values, lot, screen, rules);
    if (missA.length === 0) return { serial: imp.serial, bin: "A", reasons: [], zScores };
    const missB = binMisses("B", rules.bins.B, values, lot, screen, rules);
    return { serial: imp.serial, bin: missB.length === 0 ? "B" : "C", reasons: [...missA, ...missB], zScores };
  });
  const matchingGroups: string[][] = [];
  const unmatched: string[] = [];
  for (const bin of ["A", "B", "C"] as const) {
    const cells = perCell
      .filter((g) => g.bin === bin)
      .map((g) => imprints.find((imp) => imp.serial === g.serial)!)
      .filter((imp) => valueOf(imp, "capacityAh") !== null && valueOf(imp, "dcirMilliohm") !== null)
      .map((imp) => ({ serial: imp.serial, capacityAh: valueOf(imp, "capacityAh")!, dcirMilliohm: valueOf(imp, "dcirMilliohm")! }));
    const m = matchCells(cells, rules.matching);
    matchingGroups.push(...m.groups);
    unmatched.push(...m.unmatched);
  }
  return { perCell, statistics, matchingGroups, unmatched, rules: { name: rules.name, version: rules.version } };
}
