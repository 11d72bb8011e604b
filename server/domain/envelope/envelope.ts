/**
 * Operating envelope of a cell or pack from its grade (DESIGN §11, §12: "healing profile" / breath_core and
 * "resilience mapping" / antifragility): recommended SOC window, charge/discharge C-rate limits and
 * temperature derating. Rules are data (station-config/evaluation/envelope.yaml), each with its rationale;
 * the result lists the rules that shaped it.
 */
import { z } from "zod";

/** What the envelope needs to know of a grade; the station's grades map onto this, a BMS log gives only SOH. */
export interface GradeInput {
  sohPct: number;
  resistanceGrowthPct?: number;
  /** degradation modes as % of the fresh value (Dubarry LLI / LAM_NE / LAM_PE) */
  lliPct?: number;
  lamNePct?: number;
  lamPePct?: number;
  /** second-life route id from grading, e.g. "storage-a", "low-power" */
  route?: string;
}

const deratingPointSchema = z.object({ temperatureC: z.number(), factor: z.number().min(0).max(1) }).strict();

const limitsSchema = z
  .object({
    socMinPct: z.number().min(0).max(100),
    socMaxPct: z.number().min(0).max(100),
    maxChargeCRate: z.number().positive(),
    maxDischargeCRate: z.number().positive(),
    /** no charging at or below this cell temperature [°C] */
    noChargeBelowC: z.number(),
  })
  .strict();

const ruleSchema = z
  .object({
    id: z.string().min(1),
    when: z
      .object({
        sohBelowPct: z.number().optional(),
        resistanceGrowthAbovePct: z.number().optional(),
        lliAbovePct: z.number().optional(),
        lamNeAbovePct: z.number().optional(),
        lamPeAbovePct: z.number().optional(),
        route: z.string().optional(),
      })
      .strict(),
    then: limitsSchema.partial().strict(),
    rationale: z.string().min(1),
    citation: z.string().min(1),
  })
  .strict();

export const envelopeRulesSchema = z
  .object({
    base: limitsSchema.extend({
      chargeDerating: z
        .array(deratingPointSchema)
        .min(1)
        .refine((pts) => pts.every((p, i) => i === 0 || p.temperatureC > pts[i - 1].temperatureC), "temperatures must increase"),
    }).strict(),
    rules: z.array(ruleSchema),
  })
  .strict()
  .refine((c) => c.base.socMinPct < c.base.socMaxPct, { message: "base socMinPct must be below socMaxPct", path: ["base"] });

export type EnvelopeRules = z.infer<typeof envelopeRulesSchema>;
export type EnvelopeRule = EnvelopeRules["rules"][number];

export interface OperatingEnvelope {
  socMinPct: number;
  socMaxPct: number;
  maxChargeCRate: number;
  maxDischargeCRate: number;
  noChargeBelowC: number;
  chargeDerating: { temperatureC: number; factor: number }[];
  /** the rules that matched, in config order, with why */
  applied: { id: string; rationale: string; citation: string }[];
}

export function ruleMatches(rule: EnvelopeRule, grade: GradeInput): boolean {
  const w = rule.when;
  const above = (limit: number | undefined, value: number | undefined) => limit === undefined || (value !== undefined && value > limit);
  return (
    (w.sohBelowPct === undefined || grade.sohPct < w.sohBelowPct) &&
    above(w.resistanceGrowthAbovePct, grade.resistanceGrowthPct) &&
    above(w.lliAbovePct, grade.lliPct) &&
    above(w.lamNeAbovePct, grade.lamNePct) &&
    above(w.lamPeAbovePct, grade.lamPePct) &&
    (w.route === undefined || w.route === grade.route)
  );
}

/** Derive the envelope: base, tightened by every matching rule (never loosened). */
export function deriveEnvelope(rules: EnvelopeRules, grade: GradeInput): OperatingEnvelope {
  const env: OperatingEnvelope = { ...rules.base, chargeDerating: [...rules.base.chargeDerating], applied: [] };
  for (const rule of rules.rules) {
    if (!ruleMatches(rule, grade)) continue;
    const t = rule.then;
    if (t.socMinPct !== undefined) env.socMinPct = Math.max(env.socMinPct, t.socMinPct);
    if (t.socMaxPct !== undefined) env.socMaxPct = Math.min(env.socMaxPct, t.socMaxPct);
    if (t.maxChargeCRate !== undefined) env.maxChargeCRate = Math.min(env.maxChargeCRate, t.maxChargeCRate);
    if (t.maxDischargeCRate !== undefined) env.maxDischargeCRate = Math.min(env.maxDischargeCRate, t.maxDischargeCRate);
    if (t.noChargeBelowC !== undefined) env.noChargeBelowC = Math.max(env.noChargeBelowC, t.noChargeBelowC);
    env.applied.push({ id: rule.id, rationale: rule.rationale, citation: rule.citation });
  }
  if (env.socMinPct >= env.socMaxPct) {
    throw new Error(`envelope rules ${env.applied.map((a) => a.id).join(", ")} leave an empty SOC window (${env.socMinPct}..${env.socMaxPct} %)`);
  }
  return env;
}

/** Allowed charge C-rate at a cell temperature: 0 at or below noChargeBelowC, else the derated limit. */
export function chargeCRateAt(env: OperatingEnvelope, temperatureC: number): number {
  if (temperatureC <= env.noChargeBelowC) return 0;
  const pts = env.chargeDerating;
  if (temperatureC <= pts[0].temperatureC) return env.maxChargeCRate * pts[0].factor;
  for (let i = 1; i < pts.length; i++) {
    if (temperatureC <= pts[i].temperatureC) {
      const w = (temperatureC - pts[i - 1].temperatureC) / (pts[i].temperatureC - pts[i - 1].temperatureC);
      return env.maxChargeCRate * (pts[i - 1].factor + w * (pts[i].factor - pts[i - 1].factor));
    }
  }
  return env.maxChargeCRate * pts[pts.length - 1].factor;
}
