/**
 * Recipe → Programs. parseRecipe validates the YAML document and every step once (errors name the recipe,
 * phase, step number, step text and field); compileRecipe resolves C-rates and capacity fractions against the
 * cell's nominal capacity, turns loops into goto+repeat end actions, checks every setpoint against the recipe's
 * safety limits and the recipe's limits against the cycler's, and emits one schema-valid Program per phase.
 */
import { parse as parseYaml } from "yaml";
import type { ChemistryId } from "../chemistry/chemistry.ts";
import { describeIssues, programSchema, type End, type Limits, type Program, type Step } from "../equipment/program.ts";
import { recipeSchema, type ChamberPlan, type RecipeAnalysis, type RecipeDocument, type RecipeSafety } from "./recipe.schema.ts";
import { parseCurrent, parseStep, StepSyntaxError, type LogSpec, type ParsedStep, type Scaled } from "./step.parser.ts";

/** Logging interval when a phase sets none [s]. */
export const DEFAULT_LOG_EVERY_S = 10;

export interface RecipePhase {
  name: string;
  chamber?: ChamberPlan;
  steps: ParsedStep[];
}

export interface Recipe extends Omit<RecipeDocument, "phases"> {
  phases: RecipePhase[];
}

/** Something wrong in a recipe; the message names recipe, phase, step number, step text and field where known. */
export class RecipeError extends Error {
  constructor(
    message: string,
    readonly recipe: string,
    readonly phase?: string,
    readonly stepNumber?: number,
    readonly field?: string,
  ) {
    super(message);
    this.name = "RecipeError";
  }
}

interface Where {
  recipe: string;
  phase?: string;
  stepNumber?: number;
  stepText?: string;
}

function recipeError(where: Where, message: string, field?: string): RecipeError {
  const parts = [where.recipe];
  if (where.phase !== undefined) parts.push(`phase "${where.phase}"`);
  if (where.stepNumber !== undefined) parts.push(`step ${where.stepNumber}${where.stepText !== undefined ? ` ("${where.stepText}")` : ""}`);
  return new RecipeError(`${parts.join(", ")}: ${message}`, where.recipe, where.phase, where.stepNumber, field);
}

const label = (name: string, version: string) => `recipe ${name} v${version}`;

/** Validate a recipe document (already parsed from YAML) and parse every step. */
export function parseRecipe(document: unknown, source = "recipe"): Recipe {
  const checked = recipeSchema.safeParse(document);
  if (!checked.success) throw new RecipeError(`${source}: invalid recipe\n${describeIssues(checked.error.issues)}`, source);
  const doc = checked.data;
  const recipe = label(doc.name, doc.version);
  const phases = doc.phases.map((p): RecipePhase => ({
    name: p.name,
    chamber: p.chamber,
    steps: p.steps.map((entry, i) => {
      try {
        return parseStep(entry);
      } catch (e) {
        const text = typeof entry === "string" ? entry : "step" in entry ? entry.step : undefined;
        if (e instanceof StepSyntaxError) throw recipeError({ recipe, phase: p.name, stepNumber: i + 1, stepText: text }, e.message, e.field);
        throw e;
      }
    }),
  }));
  const roles = new Set(phases.flatMap((p) => p.steps.map((s) => s.role).filter((r): r is string => r !== undefined)));
  checkAnalysisRoles(doc.analysis, roles, recipe);
  phases.forEach((p) => checkLoops(p, recipe));
  return { ...doc, phases };
}

/** Parse recipe YAML text (pure: the caller reads the file). */
export function parseRecipeYaml(text: string, source = "recipe"): Recipe {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (e) {
    throw new RecipeError(`${source}: not valid YAML: ${(e as Error).message}`, source);
  }
  return parseRecipe(document, source);
}

function checkAnalysisRoles(analysis: RecipeAnalysis, roles: Set<string>, recipe: string): void {
  for (const [figure, section] of Object.entries(analysis)) {
    if (section === undefined) continue;
    for (const [key, value] of Object.entries(section)) {
      if (typeof value !== "string" || key === "method") continue;
      const found = figure === "entropy" ? [...roles].some((r) => r.startsWith(`${value}:`)) : roles.has(value);
      if (!found) {
        const expected = figure === "entropy" ? `steps tagged "${value}:<point>"` : `a step tagged "${value}"`;
        throw recipeError({ recipe }, `analysis.${figure}.${key} refers to ${expected}, but no step has that role`, `analysis.${figure}.${key}`);
      }
    }
  }
}

/** Loops may not nest or overlap: the Program's goto repeat counter semantics are defined for one level only. */
function checkLoops(phase: RecipePhase, recipe: string): void {
  let lastLoopAt = 0;
  phase.steps.forEach((s, i) => {
    if (s.spec.kind !== "loop") return;
    const where = { recipe, phase: phase.name, stepNumber: i + 1, stepText: s.text };
    const { fromStep, throughStep } = s.spec;
    if (fromStep > i) throw recipeError(where, `from must name an earlier step (1..${i}), got ${fromStep}`, "from");
    if (throughStep !== undefined && throughStep !== i) {
      throw recipeError(where, `the loop must directly follow the block's last step: write it as step ${throughStep + 1} or use "through ${i}"`, "through");
    }
    if (fromStep <= lastLoopAt) throw recipeError(where, `loops may not nest or overlap (step ${lastLoopAt} already closes a loop)`, "from");
    if (phase.steps.slice(fromStep - 1, i).every((b) => b.spec.kind !== "step")) throw recipeError(where, "the loop's block has no step that runs on the cycler", "from");
    lastLoopAt = i + 1;
  });
}

export interface CellForRecipe {
  nominalCapacityAh: number;
  chemistry: ChemistryId;
}

/** Values the station learns while running and feeds in when it compiles a later phase. */
export interface RuntimeValues {
  /** the cell's voltage at the end of the previous phase [V]; needed by "CV hold at OCV" */
  restVoltageV?: number;
}

export interface CompiledPhase {
  name: string;
  program: Program;
  chamber?: ChamberPlan;
  /** program step index (0-based) → analysis role */
  roles: { stepIndex: number; role: string }[];
}

export interface CompiledRecipe {
  recipeName: string;
  recipeVersion: string;
  kind: "imprint" | "second-life";
  phases: CompiledPhase[];
  analysis: RecipeAnalysis;
  grading?: string;
}

const resolve = (s: Scaled, nominalAh: number): number => (s.per === "nominal" ? s.value * nominalAh : s.value);

function resolveSafety(safety: RecipeSafety, cell: CellForRecipe, cycler: Limits, where: Where): Limits {
  const fromText = (text: string, field: string, parser: (t: string, f: string) => Scaled): number => {
    try {
      return resolve(parser(text, field), cell.nominalCapacityAh);
    } catch (e) {
      if (e instanceof StepSyntaxError) throw recipeError(where, e.message, e.field);
      throw e;
    }
  };
  const limits: Limits = {
    maxVoltageV: safety.maxVoltageV,
    minVoltageV: safety.minVoltageV,
    maxCurrentA: fromText(safety.maxCurrent, "safety.maxCurrent", parseCurrent),
    maxTemperatureC: safety.maxTemperatureC,
    ...(safety.minTemperatureC !== undefined ? { minTemperatureC: safety.minTemperatureC } : {}),
    ...(safety.maxCapacity !== undefined ? { maxCapacityAh: fromText(safety.maxCapacity, "safety.maxCapacity", parseCapacity) } : {}),
  };
  const exceed = (field: string, value: number, unit: string, limit: number, side: "above" | "below") =>
    recipeError(where, `safety.${field} ${value} ${unit} is ${side} the cycler's limit ${limit} ${unit}`, `safety.${field}`);
  if (limits.maxVoltageV > cycler.maxVoltageV) throw exceed("maxVoltageV", limits.maxVoltageV, "V", cycler.maxVoltageV, "above");
  if (limits.minVoltageV < cycler.minVoltageV) throw exceed("minVoltageV", limits.minVoltageV, "V", cycler.minVoltageV, "below");
  if (limits.maxCurrentA > cycler.maxCurrentA) throw exceed("maxCurrent", round(limits.maxCurrentA), "A", cycler.maxCurrentA, "above");
  if (limits.maxTemperatureC > cycler.maxTemperatureC) throw exceed("maxTemperatureC", limits.maxTemperatureC, "°C", cycler.maxTemperatureC, "above");
  return limits;
}

function parseCapacity(text: string, field: string): Scaled {
  const pct = text.trim().match(/^(\d+(?:\.\d+)?)\s*%$/);
  if (pct) return { value: Number(pct[1]) / 100, per: "nominal" };
  const ah = text.trim().match(/^(\d+(?:\.\d+)?)\s*Ah$/i);
  if (ah) return { value: Number(ah[1]), per: "absolute" };
  throw new StepSyntaxError(field, `${field} must be a share of nominal capacity like 120% or a capacity like 6 Ah (got "${text}")`);
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

function compileStep(parsed: ParsedStep, log: LogSpec, cell: CellForRecipe, safety: Limits, runtime: RuntimeValues, where: Where): Step {
  const spec = parsed.spec;
  if (spec.kind !== "step") throw new Error("compileStep: not a program step");
  const nominal = cell.nominalCapacityAh;
  const current = (s: Scaled, field: string): number => {
    const a = round(spec.sign * resolve(s, nominal));
    if (Math.abs(a) > safety.maxCurrentA) throw recipeError(where, `${field} ${Math.abs(a)} A exceeds the recipe's safety.maxCurrent ${round(safety.maxCurrentA)} A`, field);
    return a;
  };
  const inWindow = (v: number, field: string): number => {
    if (v > safety.maxVoltageV || v < safety.minVoltageV) {
      throw recipeError(where, `${field} ${v} V is outside the safety window ${safety.minVoltageV}–${safety.maxVoltageV} V`, field);
    }
    return v;
  };
  const step: Step = {
    mode: spec.mode,
    label: parsed.text.slice(0, 80),
    ends: spec.ends.map((e): End => {
      const value = round(resolve(e.amount, nominal));
      if (e.on === "voltage") inWindow(value, "to");
      return { on: e.on, op: e.op, value, then: "next" };
    }),
    log: { everyS: spec.log?.everyS ?? log.everyS ?? DEFAULT_LOG_EVERY_S, ...pick(log, spec.log) },
  };
  if (spec.current !== undefined) step.currentA = current(spec.current, "current");
  if (spec.powerW !== undefined) {
    const maxPowerW = safety.maxCurrentA * safety.maxVoltageV;
    if (Math.abs(spec.powerW) > maxPowerW) throw recipeError(where, `power ${Math.abs(spec.powerW)} W exceeds safety.maxCurrent × maxVoltageV = ${round(maxPowerW)} W`, "power");
    step.powerW = spec.powerW;
  }
  if (spec.voltageV === "rest-voltage") {
    if (runtime.restVoltageV === undefined) {
      throw recipeError(where, "holds at the rest voltage, which is known only when the previous phase has ended: compile this phase with compilePhase(..., { restVoltageV })", "voltage");
    }
    step.voltageV = inWindow(round(runtime.restVoltageV), "voltage");
  } else if (spec.voltageV !== undefined) {
    step.voltageV = inWindow(spec.voltageV, spec.mode === "cccv" ? "to" : "voltage");
  }
  if (spec.segments !== undefined) {
    step.segments = spec.segments.map((s, i) => ({ currentA: current(s.current, `segments[${i + 1}].current`), durationS: s.durationS }));
  }
  return step;
}

/** Change-triggered logging (deltaV/deltaI): the step's own rule wins, else the phase default's. */
function pick(phaseLog: LogSpec, stepLog: LogSpec | undefined): Pick<LogSpec, "deltaV" | "deltaI"> {
  const deltaV = stepLog?.deltaV ?? phaseLog.deltaV;
  const deltaI = stepLog?.deltaI ?? phaseLog.deltaI;
  return { ...(deltaV !== undefined ? { deltaV } : {}), ...(deltaI !== undefined ? { deltaI } : {}) };
}

/** Compile one phase into its Program (the station calls this just before the phase runs). */
export function compilePhase(recipe: Recipe, phaseName: string, cell: CellForRecipe, cyclerLimits: Limits, runtime: RuntimeValues = {}): CompiledPhase {
  const name = label(recipe.name, recipe.version);
  const phase = recipe.phases.find((p) => p.name === phaseName);
  if (!phase) throw recipeError({ recipe: name }, `no phase "${phaseName}" (phases: ${recipe.phases.map((p) => p.name).join(", ")})`);
  if (recipe.chemistry !== undefined && recipe.chemistry !== cell.chemistry) {
    throw recipeError({ recipe: name }, `is written for ${recipe.chemistry} cells, not ${cell.chemistry}`, "chemistry");
  }
  if (!(cell.nominalCapacityAh > 0)) throw recipeError({ recipe: name }, `cell nominal capacity must be > 0 Ah (got ${cell.nominalCapacityAh})`, "nominalCapacityAh");
  const safety = resolveSafety(recipe.safety, cell, cyclerLimits, { recipe: name });
  const steps: Step[] = [];
  const roles: { stepIndex: number; role: string }[] = [];
  /** recipe step number (1-based) → program step index of that or the next program step */
  const programIndexOf: number[] = [];
  let log: LogSpec = { everyS: DEFAULT_LOG_EVERY_S };
  phase.steps.forEach((parsed, i) => {
    const where = { recipe: name, phase: phase.name, stepNumber: i + 1, stepText: parsed.text };
    programIndexOf[i + 1] = steps.length;
    const spec = parsed.spec;
    if (spec.kind === "log") {
      log = { ...log, ...spec.log };
    } else if (spec.kind === "loop") {
      const last = steps[steps.length - 1];
      const nexts = last.ends.filter((e) => e.then === "next");
      if (nexts.length === 0) {
        throw recipeError(where, `the block's last step ("${last.label}") has no end condition to loop from: add a rest after it`, "from");
      }
      for (const e of nexts) e.then = { goto: programIndexOf[spec.fromStep], repeat: spec.times - 1 };
    } else {
      if (parsed.role !== undefined) roles.push({ stepIndex: steps.length, role: parsed.role });
      steps.push(compileStep(parsed, log, cell, safety, runtime, where));
    }
  });
  const program = { id: `${recipe.name}@${recipe.version}/${phase.name}`, steps, safety };
  const checked = programSchema.safeParse(program);
  if (!checked.success) throw recipeError({ recipe: name, phase: phase.name }, `compiles to an invalid program:\n${describeIssues(checked.error.issues, "program")}`);
  return { name: phase.name, program: checked.data, ...(phase.chamber ? { chamber: phase.chamber } : {}), roles };
}

/** Compile every phase. Phases that hold at the rest voltage need runtime.restVoltageV (else use compilePhase later). */
export function compileRecipe(recipe: Recipe, cell: CellForRecipe, cyclerLimits: Limits, runtime: RuntimeValues = {}): CompiledRecipe {
  return {
    recipeName: recipe.name,
    recipeVersion: recipe.version,
    kind: recipe.kind,
    phases: recipe.phases.map((p) => compilePhase(recipe, p.name, cell, cyclerLimits, runtime)),
    analysis: recipe.analysis,
    ...(recipe.grading !== undefined ? { grading: recipe.grading } : {}),
  };
}

/** Phases whose program depends on a runtime value (compile them just before they run). */
export function phasesNeedingRestVoltage(recipe: Recipe): string[] {
  return recipe.phases.filter((p) => p.steps.some((s) => s.spec.kind === "step" && s.spec.voltageV === "rest-voltage")).map((p) => p.name);
}
