/**
 * State of charge of a cell on a channel by coulomb counting from the run's records, anchored at an observed full or
 * empty event of the same run (DESIGN §9 tiles). Until the run has shown one, the SOC is unknown: a cell arrives at
 * an unknown SOC and the station does not guess it.
 *
 * - Full (100 %): a CCCV step whose step-end record shows the taper reached, |I| ≤ its current end (the CV charge ended
 *   on its current criterion, not on a time cap).
 * - Empty (0 %): a discharge step (negative setpoint current or power) whose step-end record is at or below its
 *   voltage end (it ended at the voltage cutoff).
 * - After the anchor: SOC = anchor + Σ(chargeAh − dischargeAh) / Q_nominal · 100 %, summed per step execution from
 *   the records' per-step counters (which reset at each step start).
 * The figure is charge against the datasheet's nominal capacity, not against the cell's true capacity: a cell with
 * more (less) capacity than nominal reads below 0 % or above 100 % at its ends, and the value is not clamped so
 * that shows. Anchors judge the end records with a tolerance for the instrument's noise (ANCHOR_TOLERANCE_*).
 * Pure: the caller feeds records in order and keeps the returned state.
 */
import { RECORD_FLAGS, type ChannelRecord } from "../equipment/channel.ts";
import type { Step } from "../equipment/program.ts";

/** What the counter needs of a record: the cycler's record plus the recipe phase (program) it belongs to. */
export type CountedRecord = Pick<ChannelRecord, "stepIndex" | "cycle" | "voltageV" | "currentA" | "chargeAh" | "dischargeAh" | "flags"> & {
  phaseIndex: number;
};

export interface SocAnchor {
  kind: "full" | "empty";
  phaseIndex: number;
  stepIndex: number;
  cycle: number;
}

export interface SocCounterState {
  anchor?: SocAnchor;
  /** net charge since the anchor over closed step executions [Ah], charge > 0 */
  closedNetAh: number;
  /** the step execution being counted (`phase/step/cycle`) and its net charge so far [Ah] */
  openKey?: string;
  openNetAh: number;
  /** the open step execution was closed by its step-end record */
  openClosed: boolean;
}

export const EMPTY_SOC_COUNTER: SocCounterState = { closedNetAh: 0, openNetAh: 0, openClosed: false };

/** step-end current may exceed the taper end by this share of it (measurement noise ±0.02 % FS, sampling) */
const ANCHOR_TOLERANCE_CURRENT = 0.05;
/** step-end voltage may exceed the cutoff by this much [V] (measurement ±0.1 mV; the end fires within one sub-step) */
const ANCHOR_TOLERANCE_V = 0.005;

/** Which anchor, if any, a step-end record of `step` shows. */
export function anchorAt(step: Step, end: Pick<ChannelRecord, "voltageV" | "currentA">): SocAnchor["kind"] | undefined {
  if (step.mode === "cccv" && (step.currentA ?? 0) > 0) {
    const taper = step.ends.find((e) => e.on === "current" && e.op === "<=");
    if (taper && Math.abs(end.currentA) <= taper.value * (1 + ANCHOR_TOLERANCE_CURRENT)) return "full";
  }
  const discharging = (step.currentA ?? step.powerW ?? 0) < 0 && (step.mode === "cc" || step.mode === "cp" || step.mode === "cccv");
  if (discharging) {
    const cutoff = step.ends.find((e) => e.on === "voltage" && e.op === "<=");
    if (cutoff && end.voltageV <= cutoff.value + ANCHOR_TOLERANCE_V) return "empty";
  }
  return undefined;
}

/**
 * Advance the counter over records in sequence order. `stepOf` gives the program step a record ran (phase, step
 * index); an unknown step never anchors but its charge still counts.
 */
export function countCharge(state: SocCounterState, records: readonly CountedRecord[], stepOf: (phaseIndex: number, stepIndex: number) => Step | undefined): SocCounterState {
  let { anchor, closedNetAh, openKey, openNetAh, openClosed } = state;
  for (const r of records) {
    const key = `${r.phaseIndex}/${r.stepIndex}/${r.cycle}`;
    if (key !== openKey) {
      // A step execution without its step-end record (a gap, an abort) still counts up to its last record.
      if (!openClosed) closedNetAh += openNetAh;
      openKey = key;
      openNetAh = 0;
      openClosed = false;
    }
    openNetAh = r.chargeAh - r.dischargeAh;
    if ((r.flags & RECORD_FLAGS.stepEnd) !== 0 && !openClosed) {
      openClosed = true;
      const step = stepOf(r.phaseIndex, r.stepIndex);
      const kind = step ? anchorAt(step, r) : undefined;
      if (kind) {
        anchor = { kind, phaseIndex: r.phaseIndex, stepIndex: r.stepIndex, cycle: r.cycle };
        closedNetAh = 0;
      } else {
        closedNetAh += openNetAh;
      }
      openNetAh = 0;
    }
  }
  return { ...(anchor ? { anchor } : {}), closedNetAh, ...(openKey !== undefined ? { openKey } : {}), openNetAh, openClosed };
}

/** SOC [%] against the nominal capacity, or undefined until the run has shown a full or empty anchor. */
export function socPercent(state: SocCounterState, nominalCapacityAh: number): number | undefined {
  if (!state.anchor || !(nominalCapacityAh > 0)) return undefined;
  const base = state.anchor.kind === "full" ? 100 : 0;
  return base + ((state.closedNetAh + state.openNetAh) / nominalCapacityAh) * 100;
}
