/**
 * The one typed event map for socket.io, imported by the server and the HMI (STYLE §10).
 * Payloads are JSON-safe (bigint sequence numbers travel as decimal strings). Names are noun-first.
 */
import type { ChannelState } from "../domain/equipment/channel.ts";

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
  /** run progress 0..1 and estimated remaining equipment time [s], when known */
  progress?: number;
  etaS?: number;
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
  /** changed channels since the last emit (coalesced: each channel at most twice a second) */
  "channels.updated": (changed: ChannelView[]) => void;
  "equipment.link": (link: EquipmentLinkView) => void;
}

export interface ClientToServerEvents {
  /** join the live stream of one station, optionally narrowed to one cycler or one channel key */
  "live.join": (scope: { cyclerId?: string; channelKey?: string }) => void;
}

/** Server-side coalescing period: each client sees each channel at most this often. */
export const LIVE_COALESCE_MS = 500;
