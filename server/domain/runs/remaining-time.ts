/**
 * ≈ Remaining equipment time of a channel's programs, from their steps and end conditions (DESIGN §9 "ETA").
 *
 * Model (an estimate, not a measurement — the HMI shows it with "≈"):
 * - Ideal cell against its nominal capacity Q: a charge ended by a voltage end (or a CCCV taper) stops at full,
 *   a discharge ended by a voltage end stops at empty. The recipes' charge/discharge voltage ends are the cell's
 *   cutoffs, so this holds for them; an end at an intermediate voltage is over-estimated. No series resistance and
 *   no CV tail: real cells reach the voltage end earlier and then taper, so CC parts read long and CCCV parts short.
 * - CC: time to a capacity end = (Ah to go) / |I|; to a voltage end = |SOC_target − SOC|·Q / |I|. With the SOC
 *   unknown, a voltage end is bounded by moving a whole nominal capacity (Q − Ah already moved) — an upper bound.
 * - Time ends are exact; a CV hold, a rest or anything whose end depends on the cell's response (current taper,
 *   dV/dt, temperature, energy, voltage during rest) is bounded by the step's time end. A step with no predictable
 *   end at all makes the whole estimate unknown.
 * - Control flow follows the end that is predicted to fire first; `goto` with `repeat` is unrolled exactly as the
 *   cycler counts it (channel-executor.ts: the jump is taken `repeat` times, a backward jump closes a cycle), so
 *   loops multiply. The counters at the channel's position are rebuilt by replaying the program from its start up
 *   to (step index, cycle).
 * Pure: no clocks, no I/O.
 */
import type { End, Program, Step } from "../equipment/program.ts";

/** Where a channel is inside the program it runs (ChannelLive fields). */
export interface ProgramPosition {
  /** 0-based step index */
  stepIndex: number;
  stepTimeS: number;
  /** |Ah| moved in the current step */
  stepCapacityAh: number;
  /** cycle counter: 1 at program start, +1 on every backward jump */
  cycle: number;
  /** live current [A], charge > 0, and terminal voltage [V]: together they tell a CCCV step in its CV phase */
  currentA: number;
  voltageV: number;
}

export interface RemainingTimeInput {
  /** the program running now, then those still to run after it (later recipe phases), in order */
  programs: readonly Program[];
  /** position inside programs[0] */
  position: ProgramPosition;
  nominalCapacityAh: number;
  /** state of charge at the position, 0..1, when known (see state-of-charge.ts); else voltage ends are bounded */
  socFraction?: number;
}

export type RemainingTime =
  | {
      kind: "estimate";
      /** ≈ remaining equipment time [s] */
      remainingS: number;
      /** steps taken at an upper bound (a time end capping an unpredictable end, or a whole capacity with SOC unknown) */
      boundedSteps: number;
      /** ≈ SOC at the end of the last program, 0..1, when it can be followed */
      socAtEndFraction?: number;
    }
  | { kind: "unknown"; reason: string };

/** step visits before a program counts as looping for ever (a goto without repeat) */
const MAX_STEP_VISITS = 100_000;
/** a CCCV step at its voltage (within CV_PHASE_VOLTAGE_V) with the current below this share of its setpoint is in CV */
const CV_PHASE_CURRENT_SHARE = 0.98;
const CV_PHASE_VOLTAGE_V = 0.01;

interface StepStart {
  stepTimeS: number;
  stepCapacityAh: number;
  inCvPhase: boolean;
}

interface StepOutcome {
  durationS: number;
  bounded: boolean;
  /** the end predicted to fire first; undefined for a pulse that runs out of segments */
  fired?: End;
  socAfter?: number;
}

const clampSoc = (soc: number) => Math.min(1, Math.max(0, soc));

/** Predicted time for one step from `start`, or a reason why it cannot be predicted. */
function predictStep(step: Step, start: StepStart, soc: number | undefined, nominalAh: number): StepOutcome | string {
  const rateA = Math.abs(step.currentA ?? 0);
  const sign = Math.sign(step.currentA ?? 0);
  const drivesCurrent = (step.mode === "cc" || (step.mode === "cccv" && !start.inCvPhase)) && rateA > 0;
  let best: { s: number; end?: End; socAfter?: number } | undefined;
  let unpredictable = false;
  let worstCase = false;
  const offer = (s: number, end: End | undefined, socAfter: number | undefined) => {
    if (best === undefined || s < best.s) best = { s: Math.max(0, s), end, socAfter };
  };
  const socAfterCharge = (ah: number) => (soc === undefined ? undefined : clampSoc(soc + (sign * ah) / nominalAh));

  for (const end of step.ends) {
    if (end.on === "time" && end.op === ">=") {
      const s = end.value - start.stepTimeS;
      offer(s, end, drivesCurrent ? socAfterCharge((rateA * Math.max(0, s)) / 3600) : step.mode === "pulse" ? undefined : soc);
    } else if (end.on === "capacity" && end.op === ">=" && drivesCurrent) {
      const ah = end.value - start.stepCapacityAh;
      offer((ah / rateA) * 3600, end, socAfterCharge(Math.max(0, ah)));
    } else if (end.on === "voltage" && drivesCurrent && ((sign > 0 && end.op === ">=") || (sign < 0 && end.op === "<="))) {
      const target = sign > 0 ? 1 : 0;
      // With the SOC unknown an ideal cell cannot move more than its nominal capacity between the cutoffs.
      const ah = soc === undefined ? nominalAh - start.stepCapacityAh : Math.abs(target - soc) * nominalAh;
      if (soc === undefined) worstCase = true;
      offer((ah / rateA) * 3600, end, target);
    } else if (end.on === "current" && end.op === "<=" && step.mode === "cccv" && !start.inCvPhase && rateA > 0) {
      // Ideal cell: the CC part fills it, the taper takes no time.
      const ah = soc === undefined ? nominalAh - start.stepCapacityAh : (1 - soc) * nominalAh;
      if (soc === undefined) worstCase = true;
      offer((ah / rateA) * 3600, end, sign > 0 ? 1 : 0);
    } else if (!(end.on === "current" && step.mode === "cc")) {
      // A constant current never crosses a current end; everything else depends on the cell's response.
      unpredictable = true;
    }
  }
  if (step.mode === "pulse") {
    const segments = step.segments ?? [];
    const totalS = segments.reduce((s, g) => s + g.durationS, 0);
    const netAh = segments.reduce((ah, g) => ah + ((g.currentA ?? 0) * g.durationS) / 3600, 0);
    const powered = segments.some((g) => g.currentA === undefined);
    offer(totalS - start.stepTimeS, undefined, soc === undefined || powered ? undefined : clampSoc(soc + netAh / nominalAh));
  }
  if (best === undefined) return `step ${step.label ?? step.mode} has no end condition whose time can be predicted`;
  const chosen: { s: number; end?: End; socAfter?: number } = best;
  return { durationS: chosen.s, bounded: unpredictable || worstCase, fired: chosen.end, socAfter: chosen.socAfter };
}

/** The cycler's jump rule (simulators/cycler/channel-executor.ts endStep): next index and whether a cycle closed. */
function successor(program: Program, index: number, fired: End | undefined, taken: Map<string, number>): number {
  const then = fired?.then ?? "next";
  if (then === "next") return index + 1;
  if (then === "end") return program.steps.length;
  const key = `${index}/${program.steps[index].ends.indexOf(fired!)}`;
  const count = taken.get(key) ?? 0;
  if (count < (then.repeat ?? Infinity)) {
    taken.set(key, count + 1);
    return then.goto;
  }
  taken.set(key, 0);
  return index + 1;
}

const FRESH: StepStart = { stepTimeS: 0, stepCapacityAh: 0, inCvPhase: false };

/** ≈ Remaining equipment time from the channel's position to the end of the last program (model in the header). */
export function estimateRemainingTime(input: RemainingTimeInput): RemainingTime {
  const { programs, position, nominalCapacityAh } = input;
  if (programs.length === 0) return { kind: "unknown", reason: "no program" };
  if (!(nominalCapacityAh > 0)) return { kind: "unknown", reason: `nominal capacity must be > 0 Ah (got ${nominalCapacityAh})` };
  const current = programs[0];
  if (position.stepIndex < 0 || position.stepIndex >= current.steps.length) {
    return { kind: "unknown", reason: `program ${current.id}: step index ${position.stepIndex} outside 0..${current.steps.length - 1}` };
  }

  // Replay the current program from its start to the channel's position to rebuild the repeat counters.
  const taken = new Map<string, number>();
  let index = 0;
  let cycle = 1;
  let visits = 0;
  while (!(index === position.stepIndex && cycle === position.cycle)) {
    if (index >= current.steps.length || ++visits > MAX_STEP_VISITS || cycle > position.cycle) {
      return { kind: "unknown", reason: `program ${current.id}: step ${position.stepIndex} in cycle ${position.cycle} is not on the program's path` };
    }
    const outcome = predictStep(current.steps[index], FRESH, undefined, nominalCapacityAh);
    const next = successor(current, index, typeof outcome === "string" ? undefined : outcome.fired, taken);
    if (next <= index) cycle++;
    index = next;
  }

  let remainingS = 0;
  let boundedSteps = 0;
  let soc = input.socFraction;
  const step0 = current.steps[position.stepIndex];
  let start: StepStart = {
    stepTimeS: position.stepTimeS,
    stepCapacityAh: position.stepCapacityAh,
    inCvPhase:
      step0.mode === "cccv" &&
      Math.abs(position.voltageV - (step0.voltageV ?? Infinity)) <= CV_PHASE_VOLTAGE_V &&
      Math.abs(position.currentA) < CV_PHASE_CURRENT_SHARE * Math.abs(step0.currentA ?? 0),
  };
  for (const [p, program] of programs.entries()) {
    if (p > 0) {
      index = 0;
      taken.clear();
    }
    while (index < program.steps.length) {
      if (++visits > MAX_STEP_VISITS) return { kind: "unknown", reason: `program ${program.id} loops without a repeat count` };
      const outcome = predictStep(program.steps[index], start, soc, nominalCapacityAh);
      if (typeof outcome === "string") return { kind: "unknown", reason: `program ${program.id}: ${outcome}` };
      remainingS += outcome.durationS;
      if (outcome.bounded) boundedSteps++;
      soc = outcome.socAfter;
      index = successor(program, index, outcome.fired, taken);
      start = FRESH;
    }
  }
  return { kind: "estimate", remainingS, boundedSteps, ...(soc !== undefined ? { socAtEndFraction: soc } : {}) };
}
