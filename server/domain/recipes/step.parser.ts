/**
 * Recipe steps in a readable shorthand, in the spirit of PyBaMM's Experiment strings
 * ("Discharge at C/3 until 2.5 V"): "CCCV charge 0.1C to 4.2 V until 0.02C", "rest 4 h log every 10 s",
 * "discharge pulse 0.2C for 10 s then 1C for 1 s", "rest until T <= 24 °C for 12 h", "repeat steps 2-4 3 times". A string is first split into the
 * same fields as the explicit object form, so both forms go through one validation (buildStepSpec) and give the
 * same errors, each naming the field. C-rates stay unresolved here; recipe.compiler.ts resolves them per cell.
 */
import type { EndQuantity, StepMode } from "../equipment/program.ts";
import { stepObjectSchema, type StepEntry, type StepObject } from "./recipe.schema.ts";

/** A value either absolute or per ampere-hour of nominal capacity (C-rate for currents, fraction for capacity). */
export interface Scaled {
  value: number;
  per: "absolute" | "nominal";
}

export interface EndSpec {
  on: EndQuantity;
  op: "<=" | ">=";
  /** time [s], voltage [V], current [A or C], capacity [Ah or fraction of nominal], dVdt [V/s] */
  amount: Scaled;
}

/** Logging rule; a missing everyS inherits the phase's current default. */
export interface LogSpec {
  everyS?: number;
  deltaV?: number;
  deltaI?: number;
}

export type StepSpec =
  | {
      kind: "step";
      mode: StepMode;
      /** +1 charge, −1 discharge (charge current > 0, DESIGN §4a) */
      sign: 1 | -1;
      current?: Scaled;
      /** "rest-voltage": hold at the cell's voltage at the end of the previous phase (potentiostatic hold at OCV) */
      voltageV?: number | "rest-voltage";
      powerW?: number;
      segments?: { current: Scaled; durationS: number }[];
      ends: EndSpec[];
      log?: LogSpec;
    }
  | { kind: "loop"; fromStep: number; throughStep?: number; times: number }
  | { kind: "log"; log: LogSpec };

export interface ParsedStep {
  /** the step as written (shorthand text, or a compact rendering of the object form) */
  text: string;
  role?: string;
  spec: StepSpec;
}

/** A step that cannot be understood; `field` is the shorthand clause or object field at fault. */
export class StepSyntaxError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "StepSyntaxError";
  }
}

const NUM = String.raw`(\d+(?:\.\d+)?|\.\d+)`;
const fail = (field: string, message: string): never => {
  throw new StepSyntaxError(field, message);
};

function match(text: string, pattern: string): RegExpMatchArray | null {
  return text.trim().match(new RegExp(`^${pattern}$`, "i"));
}

export function parseCurrent(text: string, field: string): Scaled {
  const cRate = match(text, `${NUM}\\s*C`);
  if (cRate) return { value: Number(cRate[1]), per: "nominal" };
  const fraction = match(text, `C\\s*/\\s*${NUM}`);
  if (fraction && Number(fraction[1]) > 0) return { value: 1 / Number(fraction[1]), per: "nominal" };
  const amps = match(text, `${NUM}\\s*(A|mA)`);
  if (amps) return { value: Number(amps[1]) * (amps[2].toLowerCase() === "ma" ? 1e-3 : 1), per: "absolute" };
  return fail(field, `${field} must be a C-rate like 0.1C or C/3, or a current like 0.5 A (got "${text}")`);
}

export function parseVoltage(text: string, field: string): number {
  const v = match(text, `${NUM}\\s*(V|mV)`);
  if (!v) return fail(field, `${field} must be a voltage like 4.2 V (got "${text}")`);
  return Number(v[1]) * (v[2].toLowerCase() === "mv" ? 1e-3 : 1);
}

export function parseDurationS(text: string, field: string): number {
  const d = match(text, `${NUM}\\s*(ms|s|sec|min|h|hr|d|day|days)`);
  if (!d) return fail(field, `${field} must be a duration like 30 s, 10 min, 4 h or 2 d (got "${text}")`);
  const unit = d[2].toLowerCase();
  const factor = unit === "ms" ? 1e-3 : unit === "min" ? 60 : unit.startsWith("h") ? 3600 : unit.startsWith("d") ? 86400 : 1;
  const s = Number(d[1]) * factor;
  if (s <= 0) fail(field, `${field} must be longer than zero (got "${text}")`);
  return s;
}

function parsePowerW(text: string, field: string): number {
  const p = match(text, `${NUM}\\s*(W|mW|kW)`);
  if (!p) return fail(field, `${field} must be a power like 10 W (got "${text}")`);
  const unit = p[2].toLowerCase();
  return Number(p[1]) * (unit === "mw" ? 1e-3 : unit === "kw" ? 1e3 : 1);
}

/** "for" clause: a duration, or a capacity ("50% capacity", "2.5 Ah") that ends the step (SOC setting). */
function parseForEnd(text: string, field: string): EndSpec {
  const pct = match(text, `${NUM}\\s*%(\\s*(of\\s+)?capacity)?`);
  if (pct) return { on: "capacity", op: ">=", amount: { value: Number(pct[1]) / 100, per: "nominal" } };
  const ah = match(text, `${NUM}\\s*(Ah|mAh)`);
  if (ah) return { on: "capacity", op: ">=", amount: { value: Number(ah[1]) * (ah[2].toLowerCase() === "mah" ? 1e-3 : 1), per: "absolute" } };
  if (!/\d\s*[a-z]/i.test(text.trim())) fail(field, `${field} must be a duration like 30 min or a capacity like 50% capacity or 2.5 Ah (got "${text}")`);
  return { on: "time", op: ">=", amount: { value: parseDurationS(text, field), per: "absolute" } };
}

/**
 * "until" clause: a cutoff current (CCCV, CV), a relaxation criterion "dV/dt < 0.1 mV/h" (rest), or a cell
 * temperature "T <= 24 °C" (rest: wait for the chamber — e.g. until a temperature profile has started, so a
 * measurement begins with the profile however long the station took to start the other channels).
 */
function parseUntilEnd(text: string, field: string, mode: StepMode): EndSpec {
  const temperature = match(text, `(?:T|temperature)\\s*(<=?|>=?|≤|≥)\\s*(-?${NUM})\\s*(?:°C|degC|C)`);
  if (temperature) {
    if (mode !== "rest") fail(field, `${field} a temperature ends a rest step only`);
    const op = temperature[1] === ">" || temperature[1] === ">=" || temperature[1] === "≥" ? ">=" : "<=";
    return { on: "temperature", op, amount: { value: Number(temperature[2]), per: "absolute" } };
  }
  const dvdt = match(text, `dV\\s*/\\s*dt\\s*<=?\\s*${NUM}\\s*(mV/h|mV/min|mV/s|µV/s|uV/s|V/s)`);
  if (dvdt) {
    if (mode !== "rest") fail(field, `${field} dV/dt ends a rest step only`);
    const unit = dvdt[2].toLowerCase();
    const vPerS = unit === "mv/h" ? 1e-3 / 3600 : unit === "mv/min" ? 1e-3 / 60 : unit === "mv/s" ? 1e-3 : unit === "v/s" ? 1 : 1e-6;
    return { on: "dVdt", op: "<=", amount: { value: Number(dvdt[1]) * vPerS, per: "absolute" } };
  }
  if (mode !== "cccv" && mode !== "cv") {
    return fail(field, `${field} "${text}": a cutoff current ends CCCV and CV steps; a rest ends "until dV/dt < 0.1 mV/h"`);
  }
  return { on: "current", op: "<=", amount: parseCurrent(text, field) };
}

/** "every 10 s", "on 1 mV", "every 1 s on 1 mV and 10 mA". */
export function parseLog(text: string, field: string): LogSpec {
  const m = text.trim().match(/^(?:every\s+(.+?))?(?:\s*\bon\s+(.+))?$/i);
  if (!m || (m[1] === undefined && m[2] === undefined)) {
    return fail(field, `${field} must read like "every 10 s", "on 1 mV" or "every 1 s on 1 mV and 10 mA" (got "${text}")`);
  }
  const log: LogSpec = {};
  if (m[1] !== undefined) log.everyS = parseDurationS(m[1], field);
  for (const part of (m[2] ?? "").split(/\s*(?:,|\band\b)\s*/i).filter((p) => p !== "")) {
    const dv = match(part, `${NUM}\\s*(mV|V)`);
    const di = match(part, `${NUM}\\s*(mA|A)`);
    if (dv) log.deltaV = Number(dv[1]) * (dv[2].toLowerCase() === "mv" ? 1e-3 : 1);
    else if (di) log.deltaI = Number(di[1]) * (di[2].toLowerCase() === "ma" ? 1e-3 : 1);
    else fail(field, `${field} "on ${part}" must be a voltage change like 1 mV or a current change like 10 mA`);
  }
  return log;
}

type Clause = "to" | "until" | "for" | "log";

/** Split "head to X until Y for Z log W" into its clauses (only the given keywords); each at most once. */
function splitClauses(text: string, keywords: readonly Clause[]): { head: string; clauses: Partial<Record<Clause, string>> } {
  const parts = text.trim().split(new RegExp(`\\s+(${keywords.join("|")})\\s+`, "i"));
  const clauses: Partial<Record<Clause, string>> = {};
  for (let i = 1; i < parts.length; i += 2) {
    const key = parts[i].toLowerCase() as Clause;
    if (clauses[key] !== undefined) fail(key, `"${key}" is given twice`);
    clauses[key] = parts[i + 1];
  }
  return { head: parts[0], clauses };
}

function integer(text: string, field: string): number {
  if (!/^\d+$/.test(text)) fail(field, `${field} must be a whole number (got "${text}")`);
  return Number(text);
}

/** Turn the shorthand string into the object form; the object form's validation then applies to both. */
export function shorthandToObject(text: string): StepObject {
  const t = text.trim().replace(/\s+/g, " ");
  const loop = match(t, String.raw`loop (\S+) from step (\S+)`);
  if (loop) return { mode: "loop", times: integer(loop[1], "times"), from: integer(loop[2], "from") };
  const repeat = match(t, String.raw`repeat steps? (\S+?) ?(?:-|to) ?(\S+) (\S+) times?`);
  if (repeat) return { mode: "loop", from: integer(repeat[1], "from"), through: integer(repeat[2], "through"), times: integer(repeat[3], "times") };
  const logOnly = match(t, "log (.+)");
  if (logOnly) return { mode: "log", log: logOnly[1] };

  const pulse = match(t, "(?:(charge|discharge) )?pulse (.+)");
  if (pulse) {
    // Segments are "<current> for <duration>" joined by "then"; "for" is part of a segment, not a clause here.
    const { head, clauses } = splitClauses(pulse[2], ["to", "until", "log"]);
    const segments = head.split(/ then /i).map((segment, i) => {
      const m = segment.match(/^(.+?) for (.+)$/i);
      return m ? { current: m[1].trim(), for: m[2].trim() } : fail(`segments[${i + 1}]`, `segments[${i + 1}] "${segment.trim()}" must read "<current> for <duration>", e.g. "1C for 1 s"`);
    });
    const direction = pulse[1] ? (pulse[1].toLowerCase() as "charge" | "discharge") : undefined;
    return { mode: "pulse", direction, segments, to: clauses.to, until: clauses.until, log: clauses.log };
  }

  if (/\bthen\b/i.test(t)) fail("mode", '"then" chains pulse segments only: write "pulse 0.2C for 10 s then 1C for 1 s"');
  const { head, clauses } = splitClauses(t, ["to", "until", "for", "log"]);
  const common = { to: clauses.to, until: clauses.until, for: clauses.for, log: clauses.log };
  const withDirection = match(head, "(cccv|cc|cp) (charge|discharge)(?: (.+))?");
  if (withDirection) {
    const mode = withDirection[1].toLowerCase() as "cc" | "cccv" | "cp";
    const direction = withDirection[2].toLowerCase() as "charge" | "discharge";
    const setpoint = withDirection[3];
    return mode === "cp" ? { mode, direction, power: setpoint, ...common } : { mode, direction, current: setpoint, ...common };
  }
  const bare = match(head, "(charge|discharge)(?: (.+))?");
  if (bare) return { mode: "cc", direction: bare[1].toLowerCase() as "charge" | "discharge", current: bare[2], ...common };
  const cv = match(head, "cv(?: hold)?(?: (.+))?");
  if (cv) return { mode: "cv", voltage: cv[1], ...common };
  const rest = match(head, "rest(?: (.+))?");
  if (rest) {
    if (rest[1] !== undefined && clauses.for !== undefined) fail("for", 'rest duration is given twice ("rest 30 min" or "rest for 30 min")');
    return { mode: "rest", ...common, for: rest[1] ?? clauses.for };
  }
  const ocv = match(head, "ocv(?: measure)?(?: (.+))?");
  if (ocv) return { mode: "ocv", ...common, for: ocv[1] ?? clauses.for };
  return fail("mode", `unknown step "${head}": expected CC/CCCV/CP charge|discharge, CV hold, rest, pulse, OCV measure, loop, repeat or log`);
}

const needs = (value: string | undefined, field: string, message: string): string => (value === undefined || value.trim() === "" ? fail(field, message) : value);

function refuseFields(o: StepObject, fields: (keyof StepObject)[]): void {
  for (const f of fields) if (o[f] !== undefined) fail(f, `${f} does not apply to a ${o.mode} step`);
}

/** Validate the object form and produce the step's specification. */
export function buildStepSpec(o: StepObject): StepSpec {
  if (o.mode === "loop") {
    refuseFields(o, ["direction", "current", "voltage", "power", "to", "until", "for", "log", "segments"]);
    const times = o.times ?? fail("times", "a loop needs times (how often the block runs in total)");
    const from = o.from ?? fail("from", "a loop needs from (the block's first step number)");
    if (!Number.isInteger(times) || times < 2) fail("times", `times must be a whole number ≥ 2 (the block runs that often in total; got ${times})`);
    if (!Number.isInteger(from) || from < 1) fail("from", `from must be a step number ≥ 1 (got ${from})`);
    if (o.through !== undefined && (!Number.isInteger(o.through) || o.through < from)) fail("through", `through must be a step number ≥ from (got ${o.through})`);
    return { kind: "loop", fromStep: from, throughStep: o.through, times };
  }
  refuseFields(o, ["times", "from", "through"]);
  const log = o.log !== undefined ? parseLog(o.log, "log") : undefined;
  if (o.mode === "log") {
    refuseFields(o, ["direction", "current", "voltage", "power", "to", "until", "for", "segments"]);
    return { kind: "log", log: log ?? fail("log", 'a log step needs a rule like "every 10 s"') };
  }
  const needsDirection = o.mode === "cc" || o.mode === "cccv" || o.mode === "cp";
  if (needsDirection && o.direction === undefined) fail("direction", `a ${o.mode.toUpperCase()} step needs a direction: charge or discharge`);
  if (!needsDirection && o.mode !== "pulse" && o.direction !== undefined) fail("direction", `direction does not apply to a ${o.mode} step`);
  const sign: 1 | -1 = o.direction === "discharge" ? -1 : 1;
  const ends: EndSpec[] = [];
  const voltageEnd = (text: string): EndSpec => ({ on: "voltage", op: sign > 0 ? ">=" : "<=", amount: { value: parseVoltage(text, "to"), per: "absolute" } });
  const base = { kind: "step" as const, mode: o.mode, sign, ends, log };

  switch (o.mode) {
    case "cc":
    case "cp": {
      refuseFields(o, ["voltage", "until", "segments", o.mode === "cc" ? "power" : "current"]);
      const setpoint = o.mode === "cc"
        ? { current: parseCurrent(needs(o.current, "current", "a CC step needs a current like 0.5C or 2 A"), "current") }
        : { powerW: sign * parsePowerW(needs(o.power, "power", "a CP step needs a power like 10 W"), "power") };
      if (o.to !== undefined) ends.push(voltageEnd(o.to));
      if (o.for !== undefined) ends.push(parseForEnd(o.for, "for"));
      if (ends.length === 0) fail("to", `a ${o.mode.toUpperCase()} step needs an end: "to <voltage>", "for <duration>" or "for <n>% capacity"`);
      return { ...base, ...setpoint };
    }
    case "cccv": {
      refuseFields(o, ["voltage", "power", "segments"]);
      const current = parseCurrent(needs(o.current, "current", "a CCCV step needs a current like 0.5C"), "current");
      const voltageV = parseVoltage(needs(o.to, "to", 'a CCCV step needs its CV voltage: "to 4.2 V"'), "to");
      if (o.until !== undefined) ends.push(parseUntilEnd(o.until, "until", "cccv"));
      if (o.for !== undefined) ends.push(parseForEnd(o.for, "for"));
      if (ends.length === 0) fail("until", 'a CCCV step needs an end: "until <cutoff current>" and/or "for <duration>"');
      return { ...base, current, voltageV };
    }
    case "cv": {
      refuseFields(o, ["current", "power", "to", "segments"]);
      const text = needs(o.voltage, "voltage", 'a CV hold needs a voltage: "CV hold 3.6 V" or "CV hold at OCV"');
      const voltageV = /^(at\s+)?ocv$/i.test(text.trim()) ? ("rest-voltage" as const) : parseVoltage(text, "voltage");
      if (o.until !== undefined) ends.push(parseUntilEnd(o.until, "until", "cv"));
      if (o.for !== undefined) ends.push(parseForEnd(o.for, "for"));
      if (ends.length === 0) fail("for", 'a CV hold needs an end: "for <duration>" and/or "until <cutoff current>"');
      return { ...base, voltageV };
    }
    case "rest":
    case "ocv": {
      refuseFields(o, ["current", "power", "voltage", "to", "segments"]);
      if (o.for !== undefined) ends.push(parseForEnd(o.for, "for"));
      if (o.until !== undefined) ends.push(parseUntilEnd(o.until, "until", o.mode));
      if (ends.some((e) => e.on === "capacity")) fail("for", `a ${o.mode} step moves no charge: "for" must be a duration`);
      if (o.mode === "ocv" && ends.length === 0) fail("for", 'an OCV measurement needs a duration: "OCV measure 60 s"');
      if (ends.length === 0) fail("for", 'a rest needs a duration ("rest 30 min") and/or "until dV/dt < 0.1 mV/h"');
      return base;
    }
    case "pulse": {
      refuseFields(o, ["current", "power", "voltage", "until", "for"]);
      const segments = (o.segments ?? fail("segments", 'a pulse needs segments: "pulse 0.2C for 10 s then 1C for 1 s"')).map((s, i) => ({
        current: parseCurrent(s.current, `segments[${i + 1}].current`),
        durationS: parseDurationS(s.for, `segments[${i + 1}].for`),
      }));
      if (segments.length === 0) fail("segments", "a pulse needs at least one segment");
      if (o.to !== undefined) ends.push(voltageEnd(o.to));
      return { ...base, segments };
    }
  }
}

function renderObject(o: StepObject): string {
  return Object.entries(o)
    .filter(([k, v]) => k !== "role" && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(", ");
}

/** Parse one recipe step entry (shorthand string, { step, role }, or the object form). */
export function parseStep(entry: StepEntry): ParsedStep {
  if (typeof entry === "string") return { text: entry, spec: buildStepSpec(shorthandToObject(entry)) };
  if ("step" in entry) return { text: entry.step, role: entry.role, spec: buildStepSpec(shorthandToObject(entry.step)) };
  const o = stepObjectSchema.parse(entry);
  return { text: renderObject(o), role: o.role, spec: buildStepSpec(o) };
}
