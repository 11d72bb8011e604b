/** Lots and runs as the station persists them (DESIGN §3, §8). JSON-safe: sequence numbers travel as strings. */

/** PackML-like run states the station maps channel states onto. */
export type RunState = "idle" | "execute" | "held" | "complete" | "aborted";
export type LotState = "execute" | "held" | "complete" | "aborted";

export interface CellRef {
  serial: string;
  /** tray slot (1-based) the cell sits in */
  slot: number;
  cyclerId: string;
  channel: number;
}

export interface Run {
  id: string;
  lotId: string;
  serial: string;
  slot: number;
  cyclerId: string;
  channel: number;
  state: RunState;
  /** phase of the recipe the run is in (index into the recipe's phases) */
  phaseIndex: number;
  /** program id currently loaded on the channel, to re-attach after a restart */
  programId?: string;
  /** cycler boot id when the phase was loaded: a different one after restart means the cycler rebooted */
  bootId?: number;
  /** the channel's last record seq before the run's first program: the trace starts after it */
  startSeq?: string;
  /** voltage at the end of the previous phase [V] (feeds "CV hold at OCV") */
  restVoltageV?: number;
  startedAt: string;
  finishedAt?: string;
  /** why the run is held or aborted */
  reason?: string;
  /** equipment time spent in programs so far [s] (simulated clock when simulated) */
  equipmentTimeS: number;
}

export interface Lot {
  id: string;
  name: string;
  kind: "imprint" | "second-life";
  recipe: { name: string; version: string };
  tray?: string;
  operator: string;
  state: LotState;
  phaseIndex: number;
  /** lifecycle of the current phase across the lot: chamber set-up, programs running, or waiting for the last run */
  phaseState: "starting" | "running";
  chemistry: string;
  nominalCapacityAh: number;
  chamberId?: string;
  simulated: boolean;
  createdAt: string;
  finishedAt?: string;
  reason?: string;
}

export interface LotFile {
  lot: Lot;
  runs: Run[];
}
