/**
 * The human form of a test: a readable, versioned YAML recipe (DESIGN §4a, §6). Validated here once; steps are
 * parsed by step.parser.ts and compiled per cell by recipe.compiler.ts into one Program per phase.
 * Format reference: docs/recipes.md.
 */
import { z } from "zod";

/** A role tags a step for analysis: "name" or "name:qualifier" (e.g. "entropy:soc50" — the qualifier labels a point). */
export const ROLE_PATTERN = /^[a-z][a-z0-9-]*(:[a-z0-9-]+)?$/;
const roleSchema = z.string().regex(ROLE_PATTERN, 'a role like "dcir-pulse" or "entropy:soc50" (lower case, digits, "-")');

/** A quantity written with its unit, e.g. "0.1C", "C/3", "0.5 A", "4.2 V", "30 min"; a bare number is refused by the parser. */
const quantitySchema = z.union([z.string(), z.number()]).transform((v) => String(v));

/** Explicit object form of a step: the shorthand's clauses as fields (see step.parser.ts). */
export const stepObjectSchema = z
  .object({
    mode: z.enum(["cc", "cccv", "cv", "cp", "rest", "pulse", "ocv", "loop", "log"]),
    direction: z.enum(["charge", "discharge"]).optional(),
    current: quantitySchema.optional(),
    voltage: quantitySchema.optional(),
    power: quantitySchema.optional(),
    to: quantitySchema.optional(),
    until: quantitySchema.optional(),
    for: quantitySchema.optional(),
    log: z.string().optional(),
    segments: z.array(z.object({ current: quantitySchema, for: quantitySchema }).strict()).optional(),
    /** loop: the block from step `from` (1-based, this phase) to the step before the loop runs `times` times in total */
    times: z.number().optional(),
    from: z.number().optional(),
    /** loop: last step of the block; must be the step just before the loop (written "repeat steps 2-4 3 times") */
    through: z.number().optional(),
    role: roleSchema.optional(),
  })
  .strict();
export type StepObject = z.infer<typeof stepObjectSchema>;

/** A step: shorthand string, shorthand with a role, or the explicit object form. */
export const stepEntrySchema = z.union([
  z.string().min(1),
  z.object({ step: z.string().min(1), role: roleSchema.optional() }).strict(),
  stepObjectSchema,
]);
export type StepEntry = z.input<typeof stepEntrySchema>;

const chamberSetpointSchema = z
  .object({
    setpointC: z.number().min(-60).max(150),
    /** omitted: as fast as the chamber can */
    rampKPerMin: z.number().positive().optional(),
    /** wait for the chamber's "stable" flag before the phase's program starts; default true */
    waitStable: z.boolean().default(true),
  })
  .strict();

const profilePointSchema = z.object({ setpointC: z.number().min(-60).max(150), holdMin: z.number().positive() }).strict();
/** Applied from the start of the phase's program; the last setpoint is held until the program ends. */
const chamberProfileSchema = z.array(profilePointSchema).min(1).max(32);

export type ChamberPlan =
  | { kind: "setpoint"; setpointC: number; rampKPerMin?: number; waitStable: boolean }
  | { kind: "profile"; profile: { setpointC: number; holdMin: number }[] };

const chamberSchema = z
  .union([chamberSetpointSchema, chamberProfileSchema, z.object({ profile: chamberProfileSchema }).strict()])
  .transform((c): ChamberPlan => {
    if (Array.isArray(c)) return { kind: "profile", profile: c };
    if ("profile" in c) return { kind: "profile", profile: c.profile };
    return { kind: "setpoint", ...c };
  });

const phaseSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, "a phase name of lower-case letters, digits and '-' (max 32)"),
    chamber: chamberSchema.optional(),
    steps: z.array(stepEntrySchema).min(1),
  })
  .strict();

/** Recipe-level abort limits (separate from step end conditions); currents as C-rates or amperes, capacity as % of nominal or Ah. */
const safetySchema = z
  .object({
    maxVoltageV: z.number().finite(),
    minVoltageV: z.number().finite(),
    maxCurrent: quantitySchema,
    maxTemperatureC: z.number().finite(),
    minTemperatureC: z.number().finite().optional(),
    maxCapacity: quantitySchema.optional(),
  })
  .strict()
  .refine((s) => s.minVoltageV < s.maxVoltageV, { message: "minVoltageV must be below maxVoltageV", path: ["minVoltageV"] });

/**
 * Which figures to compute and from which tagged steps. Every section is optional: a figure whose section is
 * missing is not computed. Role names refer to `role` tags on steps; parseRecipe checks that each one exists.
 */
export const analysisSchema = z
  .object({
    capacity: z.object({ charge: roleSchema, discharge: roleSchema }).strict().optional(),
    formation: z.object({ charge: roleSchema, discharge: roleSchema }).strict().optional(),
    dcir: z.object({ rest: roleSchema, pulse: roleSchema }).strict().optional(),
    ocv: z.object({ rest: roleSchema }).strict().optional(),
    kValue: z
      .object({
        rest: roleSchema,
        /** the early part of the ageing rest still relaxing (~1 h RC) is excluded from the regression [min] */
        excludeFirstMin: z.number().min(0).default(120),
      })
      .strict()
      .optional(),
    holdCurrent: z.object({ hold: roleSchema }).strict().optional(),
    ica: z
      .object({
        curve: roleSchema,
        gridStepMv: z.number().positive().default(1),
        smoothingMv: z.number().positive().default(8),
      })
      .strict()
      .optional(),
    /** prefix of the entropy roles; each "prefix:label" is one SOC point */
    entropy: z
      .object({ rest: z.string().regex(/^[a-z][a-z0-9-]*$/), method: z.enum(["fast", "potentiometric"]).default("fast") })
      .strict()
      .optional(),
  })
  .strict();
export type RecipeAnalysis = z.infer<typeof analysisSchema>;

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

export const recipeSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "a recipe name of lower-case letters, digits, '_' and '-' (max 32)"),
    version: z.string().regex(SEMVER, "a semantic version like 1.2.0"),
    description: z.string().max(2000).default(""),
    chemistry: z.enum(["nmc811-graphite", "lfp-graphite"]).optional(),
    kind: z.enum(["imprint", "second-life"]),
    safety: safetySchema,
    phases: z.array(phaseSchema).min(1),
    analysis: analysisSchema.default({}),
    /** grading-rules file name in station-config/grading/, without extension */
    grading: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const names = new Set<string>();
    r.phases.forEach((p, i) => {
      if (names.has(p.name)) ctx.addIssue({ code: "custom", path: ["phases", i, "name"], message: `phase name "${p.name}" is used twice` });
      names.add(p.name);
    });
  });
export type RecipeDocument = z.infer<typeof recipeSchema>;
export type RecipePhaseDocument = RecipeDocument["phases"][number];
export type RecipeSafety = RecipeDocument["safety"];
