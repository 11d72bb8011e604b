/**
 * Grading rules for new cells (DESIGN §6), station-config/grading/*.yaml: datasheet specification limits per
 * figure, lot-statistics outlier screens (k robust σ), bin conditions for A and B (a passing cell that meets
 * neither is C), and matching tolerances for pack assembly.
 */
import { z } from "zod";

/** The imprint figures grading can use, with their units (the Imprint field names). */
export const GRADED_FIGURES = {
  capacityAh: "Ah",
  energyWh: "Wh",
  coulombicEfficiency: "1",
  dcirMilliohm: "mΩ",
  r10sMilliohm: "mΩ",
  ocvV: "V",
  kValueMvPerDay: "mV/day",
  holdCurrentMicroA: "µA",
} as const;
export type GradedFigure = keyof typeof GRADED_FIGURES;
const figureName = z.enum(Object.keys(GRADED_FIGURES) as [GradedFigure, ...GradedFigure[]]);

const figureRuleSchema = z
  .object({
    /** datasheet specification limits */
    min: z.number().finite().optional(),
    max: z.number().finite().optional(),
    /** reject beyond k robust σ from the lot median; omitted = no outlier screen */
    outlierK: z.number().positive().optional(),
    /** which side is abnormal: low capacity, high resistance, high K-value… */
    outlierSide: z.enum(["low", "high", "both"]).default("both"),
    /** floor of the robust σ (measurement resolution), so identical readings do not make everything an outlier */
    minSigma: z.number().min(0).default(0),
    /**
     * Scale of the outlier screen. "log" for strictly positive, right-skewed figures: a lot's self-discharge leak is
     * lognormal, so a linear median ± k·σ flags the healthy upper tail as outliers. On the log scale values are floored
     * at minSigma first, and σ is at least minLogSigma (ln units; 0.1 ≈ 10 %).
     */
    outlierScale: z.enum(["linear", "log"]).default("linear"),
    minLogSigma: z.number().positive().default(0.1),
    /** a cell without this figure is rejected; default true */
    required: z.boolean().default(true),
  })
  .strict()
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: "min must not exceed max", path: ["min"] });
export type FigureRule = z.infer<typeof figureRuleSchema>;

const binConditionSchema = z
  .object({
    figure: figureName,
    /** |robust z| at most this */
    maxAbsZ: z.number().positive().optional(),
    /** value at most the lot's p-th percentile */
    maxPercentile: z.number().min(0).max(100).optional(),
    /** value at least the lot's p-th percentile */
    minPercentile: z.number().min(0).max(100).optional(),
  })
  .strict()
  .refine((c) => c.maxAbsZ !== undefined || c.maxPercentile !== undefined || c.minPercentile !== undefined, {
    message: "a bin condition needs maxAbsZ, maxPercentile or minPercentile",
  });
export type BinCondition = z.infer<typeof binConditionSchema>;

export const gradingRulesSchema = z
  .object({
    name: z.string().min(1).max(64),
    version: z.string().regex(/^\d+\.\d+\.\d+$/, "a semantic version like 1.0.0"),
    description: z.string().default(""),
    figures: z.partialRecord(figureName, figureRuleSchema),
    bins: z.object({ A: z.array(binConditionSchema).default([]), B: z.array(binConditionSchema).default([]) }).strict(),
    matching: z
      .object({
        /** max/min − 1 of capacity within a group */
        capacityRelative: z.number().positive(),
        /** max/min − 1 of DCIR within a group */
        dcirRelative: z.number().positive(),
        minGroupSize: z.number().int().min(2).default(2),
      })
      .strict(),
  })
  .strict()
  .superRefine((r, ctx) => {
    (["A", "B"] as const).forEach((bin) =>
      r.bins[bin].forEach((c, i) => {
        if (r.figures[c.figure] === undefined) {
          ctx.addIssue({ code: "custom", path: ["bins", bin, i, "figure"], message: `${c.figure} has no rule under figures (needed for its lot statistics)` });
        }
      }),
    );
  });
export type GradingRules = z.infer<typeof gradingRulesSchema>;
