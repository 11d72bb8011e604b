/**
 * What the station offers to its edges (REST, socket.io, CLI, demo): the only surface api/ calls for lots,
 * runs, cells and alarms. Implemented by server/station/station-app.ts.
 */
import type { Alarm } from "./alarms.ts";
import type { Lot, Run } from "./run.types.ts";
import type { SerialEntry } from "../store/station-store.ts";

export interface StartLotRequest {
  /** lot name as typed/scanned by the operator */
  name: string;
  /** recipe name (file stem in station-config/recipes) */
  recipe: string;
  tray?: string;
  cyclerId: string;
  /** slot → serial; slot n runs on channel n of the cycler unless `channel` is given */
  cells: { slot: number; serial: string; channel?: number }[];
  /** nominal capacity [Ah] and chemistry of the cells (datasheet) */
  nominalCapacityAh: number;
  chemistry: "nmc811-graphite" | "lfp-graphite";
  operator: string;
}

export interface LotDetail {
  lot: Lot;
  runs: Run[];
  /** per serial analysis results (imprint or second-life grade), when finished */
  results: Record<string, unknown>;
  /** lot-level grading (bins, statistics, matching groups) or route distribution */
  lotResult?: unknown;
  /** recipe phase names, for progress display */
  phases: string[];
}

export interface CellDetail {
  serial: string;
  history: SerialEntry[];
  /** newest first: each entry's result as stored */
  results: { entry: SerialEntry; result: unknown }[];
}

export interface ChannelHistoryQuery {
  /** only records of the last this many seconds (instrument clock) of the trace */
  seconds?: number;
  /** point budget (capped by the station) */
  maxPoints?: number;
}

/** The recent trace of the run on a channel, oldest first, decimated (server/station/channel-history.ts). */
export interface ChannelHistory {
  /** `${cyclerId}/${channel}` */
  key: string;
  runId: string;
  serial: string;
  /** records in the window before decimation */
  recordsInWindow: number;
  points: { seq: string; unixTimeS: number; testTimeS: number; voltageV: number; currentA: number; temperatureC: number }[];
}

export class StationRequestError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 503,
    message: string,
  ) {
    super(message);
    this.name = "StationRequestError";
  }
}

export interface StationService {
  startLot(req: StartLotRequest): Promise<Lot>;
  pauseLot(lotId: string, by: string): Promise<Lot>;
  resumeLot(lotId: string, by: string): Promise<Lot>;
  abortLot(lotId: string, by: string, reason: string): Promise<Lot>;
  listLots(): Promise<Lot[]>;
  lot(lotId: string): Promise<LotDetail>;
  cell(serial: string): Promise<CellDetail>;
  /** recent trace of the channel's active run (else its last run); 404 when the channel has had no run */
  channelHistory(cyclerId: string, channel: number, query: ChannelHistoryQuery): Promise<ChannelHistory>;
  recipes(): Promise<{ name: string; version: string; kind: string; description: string }[]>;
  alarms: {
    active(): Alarm[];
    history(limit?: number): Alarm[];
    acknowledge(id: string, by: string): Alarm;
    shelve(id: string, by: string, reason: string, untilIso: string): Alarm;
  };
  /** lot and run changes, for the live stream */
  onLotChanged(fn: (lot: Lot, runs: Run[]) => void): void;
  onAlarm(fn: (a: Alarm) => void): void;
}
