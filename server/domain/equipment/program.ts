/**
 * The program a cycler channel executes on its own (DESIGN §4, §4a).
 * Sign convention, pinned by test/domain/program.test.ts: charge current > 0, discharge current < 0.
 * Power follows the same sign. Every quantity carries its unit in its name.
 */
import { z } from "zod";

export const STEP_MODES = ["rest", "cc", "cccv", "cv", "cp", "pulse", "ocv"] as const;
export type StepMode = (typeof STEP_MODES)[number];

/**
 * End-condition quantities and how they are compared:
 * time = step time [s]; voltage = terminal voltage [V]; current = |I| [A];
 * capacity = |Ah| moved in this step; energy = |Wh| moved in this step;
 * dVdt = |dV/dt| [V/s] over the last logging window; temperature = cell temperature [degC].
 */
export const END_QUANTITIES = ["time", "voltage", "current", "capacity", "energy", "dVdt", "temperature"] as const;
export type EndQuantity = (typeof END_QUANTITIES)[number];

/** `goto` jumps to a step index (0-based); with `repeat`, the jump is taken that many times, then it acts as "next". */
const endActionSchema = z.union([
  z.literal("next"),
  z.literal("end"),
  z.object({ goto: z.number().int().min(0), repeat: z.number().int().min(1).optional() }).strict(),
]);
export type EndAction = z.infer<typeof endActionSchema>;

const endSchema = z
  .object({
    on: z.enum(END_QUANTITIES),
    op: z.enum(["<=", ">="]),
    value: z.number().finite(),
    then: endActionSchema,
  })
  .strict();
export type End = z.infer<typeof endSchema>;

/** One segment of a pulse step: constant current or constant power for durationS (≥ 10 ms). */
const pulseSegmentSchema = z
  .object({
    currentA: z.number().finite().optional(),
    powerW: z.number().finite().optional(),
    durationS: z.number().min(0.01),
  })
  .strict()
  .refine((s) => (s.currentA === undefined) !== (s.powerW === undefined), "a pulse segment sets exactly one of currentA or powerW");
export type PulseSegment = z.infer<typeof pulseSegmentSchema>;

const logRuleSchema = z
  .object({
    everyS: z.number().positive(),
    deltaV: z.number().positive().optional(),
    deltaI: z.number().positive().optional(),
  })
  .strict();
export type LogRule = z.infer<typeof logRuleSchema>;

export const stepSchema = z
  .object({
    mode: z.enum(STEP_MODES),
    label: z.string().max(80).optional(),
    /** cc, cccv: signed current [A]. */
    currentA: z.number().finite().optional(),
    /** cccv, cv: target terminal voltage [V]. */
    voltageV: z.number().finite().optional(),
    /** cp: signed power [W]. */
    powerW: z.number().finite().optional(),
    /** pulse: segments run in order; the step ends after the last one unless an end condition fires first. */
    segments: z.array(pulseSegmentSchema).min(1).max(16).optional(),
    ends: z.array(endSchema).max(4),
    log: logRuleSchema,
  })
  .strict()
  .superRefine((s, ctx) => {
    const need = (field: "currentA" | "voltageV" | "powerW" | "segments") => {
      if (s[field] === undefined) ctx.addIssue({ code: "custom", path: [field], message: `${s.mode} step needs ${field}` });
    };
    if (s.mode === "cc") need("currentA");
    if (s.mode === "cccv") { need("currentA"); need("voltageV"); }
    if (s.mode === "cv") need("voltageV");
    if (s.mode === "cp") need("powerW");
    if (s.mode === "pulse") need("segments");
    if (s.mode !== "pulse" && s.ends.length === 0) {
      ctx.addIssue({ code: "custom", path: ["ends"], message: `${s.mode} step needs at least one end condition` });
    }
  });
export type Step = z.infer<typeof stepSchema>;

/** Safety limits: a breach ends the program in the fault state with a reason code. */
export const limitsSchema = z
  .object({
    maxVoltageV: z.number().finite(),
    minVoltageV: z.number().finite(),
    maxCurrentA: z.number().positive(),
    maxTemperatureC: z.number().finite(),
    minTemperatureC: z.number().finite().optional(),
    maxCapacityAh: z.number().positive().optional(),
  })
  .strict();
export type Limits = z.infer<typeof limitsSchema>;

export const MAX_PROGRAM_STEPS = 64;

export const programSchema = z
  .object({
    id: z.string().min(1).max(64),
    steps: z.array(stepSchema).min(1).max(MAX_PROGRAM_STEPS),
    safety: limitsSchema,
  })
  .strict()
  .superRefine((p, ctx) => {
    p.steps.forEach((s, i) =>
      s.ends.forEach((e, j) => {
        if (typeof e.then === "object" && e.then.goto >= p.steps.length) {
          ctx.addIssue({ code: "custom", path: ["steps", i, "ends", j, "then", "goto"], message: `goto ${e.then.goto} is past the last step (${p.steps.length - 1})` });
        }
      }),
    );
  });
export type Program = z.infer<typeof programSchema>;

/** Format zod issues as "path: message" lines, so every error names the field it is about. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix = ""): string {
  return issues
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter((p) => p !== "").join(".");
      return `${path || "(root)"}: ${i.message}`;
    })
    .join("\n");
}
