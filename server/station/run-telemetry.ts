/**
 * The station's live estimates for a run's channel tile: SOC by coulomb counting from the run's trace, and the ≈
 * remaining equipment time and progress of the run's remaining programs (server/domain/runs/). Keeps, per run, the
 * compiled programs of the recipe's phases, a read position in the run's trace and the SOC counter, so every
 * reading costs only the records appended since the last one.
 */
import type { ChannelLive } from "../domain/equipment/channel.ts";
import type { Limits, Program, StepMode } from "../domain/equipment/program.ts";
import { compilePhase, type Recipe } from "../domain/recipes/recipe.compiler.ts";
import { estimateRemainingTime, type ProgramPosition } from "../domain/runs/remaining-time.ts";
import { countCharge, EMPTY_SOC_COUNTER, socPercent, type SocCounterState } from "../domain/runs/state-of-charge.ts";
import { readTraceFrom } from "../store/trace-store.ts";
import type { Lot, Run } from "./run.types.ts";

export interface RunTelemetryDeps {
  recipe(name: string): Recipe;
  traceFile(lotId: string, runId: string): string;
  /** the cycler's limits, once connected */
  limits(cyclerId: string): Limits | undefined;
}

/** ChannelView fields this module fills (see server/api/events.ts for their meaning). */
export interface RunEstimates {
  socPercent?: number;
  progress?: number;
  etaS?: number;
  stepCount?: number;
  stepMode?: StepMode;
}

interface RunState {
  programs: Program[];
  traceOffset: number;
  countedSeq: bigint;
  soc: SocCounterState;
}

const START: ProgramPosition = { stepIndex: 0, stepTimeS: 0, stepCapacityAh: 0, cycle: 1, currentA: 0, voltageV: 0 };

export interface RunTelemetry {
  estimate(lot: Lot, run: Run, live: ChannelLive | undefined): RunEstimates;
  /** drop a run's state (its lot finished) */
  forget(runId: string): void;
}

/**
 * Trace bytes all runs together may read per second to count charge. In steady state channels log ~100 B/s each;
 * after a restart every run catches up from the start of its trace (MBs each), spread over seconds instead of one
 * stalled poll.
 */
const READ_BUDGET_BYTES_PER_S = 4 * 1024 * 1024;

export function createRunTelemetry(deps: RunTelemetryDeps, now: () => number = Date.now): RunTelemetry {
  const runs = new Map<string, RunState>();
  let budget = { second: -1, bytes: 0 };
  const takeBudget = (): number => {
    const second = Math.floor(now() / 1000);
    if (second !== budget.second) budget = { second, bytes: READ_BUDGET_BYTES_PER_S };
    return budget.bytes;
  };

  const stateOf = (lot: Lot, run: Run, live: ChannelLive | undefined): RunState | undefined => {
    const known = runs.get(run.id);
    if (known) return known;
    const limits = deps.limits(run.cyclerId);
    if (!limits) return undefined;
    const recipe = deps.recipe(lot.recipe.name);
    // The hold voltage of a "CV hold at OCV" phase is learnt at run time; neither estimator uses a setpoint voltage
    // of a hold, so any value inside the window compiles the same steps and ends.
    const holdV = run.restVoltageV ?? live?.voltageV ?? (limits.minVoltageV + limits.maxVoltageV) / 2;
    const cell = { nominalCapacityAh: lot.nominalCapacityAh, chemistry: lot.chemistry as "nmc811-graphite" };
    const programs = recipe.phases.map((p) => compilePhase(recipe, p.name, cell, limits, { restVoltageV: holdV }).program);
    const state: RunState = { programs, traceOffset: 0, countedSeq: -1n, soc: EMPTY_SOC_COUNTER };
    runs.set(run.id, state);
    return state;
  };

  return {
    estimate(lot, run, live) {
      let s: RunState | undefined;
      try {
        s = stateOf(lot, run, live);
      } catch {
        return {}; // a recipe that no longer compiles: the lot runner reports it; the tile shows no estimate
      }
      if (!s) return {};
      // Count only when the channel has logged more than we counted: an idle channel costs no file access.
      const allowed = takeBudget();
      if ((live === undefined || live.lastSeq > s.countedSeq) && allowed > 0) {
        const { records, nextOffset } = readTraceFrom(deps.traceFile(lot.id, run.id), s.traceOffset, allowed);
        budget.bytes -= nextOffset - s.traceOffset;
        if (records.length > 0) {
          const programs = s.programs;
          s.soc = countCharge(s.soc, records, (phase, step) => programs[phase]?.steps[step]);
          s.countedSeq = records[records.length - 1].seq;
        }
        s.traceOffset = nextOffset;
      }
      const soc = socPercent(s.soc, lot.nominalCapacityAh);
      const out: RunEstimates = soc === undefined ? {} : { socPercent: soc };
      const running = live === undefined ? undefined : s.programs.find((p) => p.id === live.programId);
      if (running && live) {
        out.stepCount = running.steps.length;
        const mode = running.steps[live.stepIndex]?.mode;
        if (mode) out.stepMode = mode;
      }
      if (run.state !== "execute" && run.state !== "held") return out;

      // Where the run stands: inside this phase's program, past it (finished, waiting for the lot), or before it.
      const phase = lot.phaseIndex;
      const current = s.programs[phase];
      const onProgram = live !== undefined && current !== undefined && live.programId === current.id && run.programId === current.id;
      let programs: Program[];
      let position = START;
      let elapsedS = run.equipmentTimeS;
      if (onProgram && (live.state === "running" || live.state === "paused")) {
        programs = s.programs.slice(phase);
        position = { stepIndex: live.stepIndex, stepTimeS: live.stepTimeS, stepCapacityAh: live.stepCapacityAh, cycle: live.cycle, currentA: live.currentA, voltageV: live.voltageV };
        elapsedS += live.testTimeS;
      } else if (onProgram && live.state === "finished") {
        programs = s.programs.slice(phase + 1);
        elapsedS += live.testTimeS; // the phase's time joins equipmentTimeS only when the whole lot moves on
      } else {
        programs = s.programs.slice(phase);
      }
      if (programs.length === 0) return { ...out, etaS: 0, progress: 1 };
      const r = estimateRemainingTime({ programs, position, nominalCapacityAh: lot.nominalCapacityAh, ...(soc !== undefined ? { socFraction: soc / 100 } : {}) });
      if (r.kind === "unknown") return out;
      const totalS = elapsedS + r.remainingS;
      return { ...out, etaS: r.remainingS, progress: totalS > 0 ? elapsedS / totalS : 0 };
    },
    forget: (runId) => void runs.delete(runId),
  };
}
