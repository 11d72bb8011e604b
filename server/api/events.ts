/**
 * The one typed event map for socket.io, imported by the server and the HMI (STYLE §10).
 * Payloads are JSON-safe (bigint sequence numbers travel as decimal strings). Names are noun-first.
 */
import type { ChannelState } from "../domain/equipment/channel.ts";
import type { StepMode } from "../domain/equipment/program.ts";
import type { Alarm } from "../station/alarms.ts";
import type { Lot, Run } from "../station/run.types.ts";

export interface ChannelView {
  /** `${cyclerId}/${channel}` */
  key: string;
  cyclerId: string;
  channel: number;
  state: ChannelState;
  voltageV: number;
  currentA: number;
  temperatureC: number;
  stepIndex: number;
  stepTimeS: number;
  cycle: number;
  alarmCode: number;
  lastSeq: string;
  /** serial of the cell on the channel, when a run is attached */
  serial?: string;
  runId?: string;
  /**
   * state of charge [%], an estimate by coulomb counting from the run's records: Σ(charge − discharge Ah) since the
   * run's last observed full event (a CCCV charge ended on its current taper → 100 %) or empty event (a discharge
   * ended at its voltage cutoff → 0 %), against the cell's nominal capacity; not clamped (a cell with more capacity
   * than nominal reads below 0 % at its end). Absent until the run has shown such an event
   * (server/domain/runs/state-of-charge.ts).
   */
  socPercent?: number;
  /** run progress 0..1: equipment time so far / (so far + etaS) */
  progress?: number;
  /**
   * ≈ remaining equipment time of the run [s], an estimate from the steps and end conditions of its remaining
   * programs on an ideal cell (no IR, no CV tail; unknowable ends bounded by time ends; loops unrolled); chamber
   * waits between phases are not included (server/domain/runs/remaining-time.ts). Absent when a step has no
   * predictable end.
   */
  etaS?: number;
  /** number of steps of the program the run is in, and the mode of the current step, when a run is attached */
  stepCount?: number;
  stepMode?: StepMode;
  /** wall-clock time of the reading, ms since epoch */
  updatedAtMs: number;
}

export interface EquipmentLinkView {
  equipmentId: string;
  kind: "cycler" | "chamber";
  status: "connected" | "degraded" | "lost";
  reason?: string;
  simulated: boolean;
}

export interface StationSnapshot {
  stationId: string;
  stationName: string;
  simulated: boolean;
  channels: ChannelView[];
  links: EquipmentLinkView[];
}

export interface ServerToClientEvents {
  /** full picture, sent on join and on reconnect, before any delta */
  "station.snapshot": (s: StationSnapshot) => void;
  /** changed channels since the last emit (each channel at most twice in any second; analog deadbands: server/station/live-hub.ts) */
  "channels.updated": (changed: ChannelView[]) => void;
  "equipment.link": (link: EquipmentLinkView) => void;
  /** all lots, sent on join before any `lot.updated` */
  "lots.snapshot": (lots: Lot[]) => void;
  /** a lot or one of its runs changed (coalesced per lot like channels) */
  "lot.updated": (update: LotUpdate) => void;
  /** active (unshelved, not normal) alarms, sent on join before any `alarm.changed` */
  "alarms.snapshot": (active: Alarm[]) => void;
  /** an alarm was raised, cleared, acknowledged or shelved */
  "alarm.changed": (alarm: Alarm) => void;
  /** the socket's session ended (logout, expiry, user disabled); the server disconnects next */
  "session.ended": (reason: string) => void;
}

export interface LotUpdate {
  lot: Lot;
  runs: Run[];
}

/** Answer to a client→server request event (socket.io acknowledgement), with an HTTP-like status on refusal. */
export type SocketResult<T> = { ok: true; value: T } | { ok: false; status: 400 | 401 | 403 | 404; error: string };

export interface ClientToServerEvents {
  /** join the live stream of one station, optionally narrowed to one cycler or one channel key */
  "live.join": (scope: { cyclerId?: string; channelKey?: string }) => void;
  /**
   * the channels this client shows on screen (a grid scrolled to part of the station): only they stream their
   * values; every channel's state, alarm and run still reach the client (for counts and markers). Not sent, or
   * null: all stream.
   */
  "live.visible": (keys: string[] | null) => void;
  /** acknowledge an alarm (role checked on the server like the REST call) */
  "alarm.acknowledge": (id: string, done: (r: SocketResult<Alarm>) => void) => void;
}

/** Server-side coalescing period of lot updates: each client sees each lot at most this often. */
export const LIVE_COALESCE_MS = 500;
