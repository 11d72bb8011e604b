/**
 * One interface per kind of equipment (DESIGN §4a). One implementation per protocol lives in its own folder
 * (equipment/opcua, equipment/modbus); drivers are picked from equipment/registry.ts by the validated config.
 */
import type { ChannelCommand, ChannelLive, ChannelRecord, ChannelState } from "../domain/equipment/channel.ts";
import type { Limits, Program } from "../domain/equipment/program.ts";

export interface CyclerInfo {
  model: string;
  serial: string;
  firmware: string;
  channelCount: number;
  /** instrument limits; programs are validated against them before download */
  limits: Limits;
  /** true when the instrument is a simulator: everything measured on it is labelled simulated */
  simulated: boolean;
  /** how many records each channel's ring buffer holds */
  recordBufferSize: number;
  /** changes when the cycler reboots (its buffers were cleared) */
  bootId: number;
}

export type LinkStatus = "connected" | "degraded" | "lost";
export interface LinkState {
  status: LinkStatus;
  reason?: string;
}

/** What a change subscription reports between bulk reads: the fields that changed on one channel. */
export interface ChannelChange {
  channel: number;
  state?: ChannelState;
  alarmCode?: number;
  stepIndex?: number;
}

export interface CyclerDriver {
  connect(signal?: AbortSignal): Promise<CyclerInfo>;
  /** all channels in bulk, in one round of requests */
  readLive(): Promise<ChannelLive[]>;
  /**
   * Where the protocol can push (OPC UA subscriptions): report state, alarm and step changes as they happen, so
   * the HMI need not wait for the next bulk read. Call after connect(); kept across reconnects. Optional: drivers
   * without it (Modbus) are only read.
   */
  watchChanges?(fn: (changes: ChannelChange[]) => void): void;
  /**
   * The instrument's boot id as last seen, where a bulk read sees it too (OPC UA): a reboot that kept the session
   * shows here before any reconnect. Optional: other drivers learn it on (re)connect only.
   */
  bootId?(): number | undefined;
  /** records with seq > afterSeq, oldest first, at most max */
  readRecords(channel: number, afterSeq: bigint, max: number): Promise<ChannelRecord[]>;
  /** validated against CyclerInfo limits first */
  load(channel: number, program: Program): Promise<void>;
  command(channel: number, cmd: ChannelCommand): Promise<void>;
  heartbeat(): Promise<void>;
  close(): Promise<void>;
  on(event: "state", fn: (s: LinkState) => void): void;
}

export interface ChamberInfo {
  model: string;
  serial: string;
  minC: number;
  maxC: number;
  simulated: boolean;
}

export interface ChamberReading {
  setpointC: number;
  actualC: number;
  stable: boolean;
  /** non-zero when the chamber reports a failure */
  alarmCode: number;
}

export interface ChamberProfilePoint {
  setpointC: number;
  holdMin: number;
}

export interface ChamberDriver {
  connect(signal?: AbortSignal): Promise<ChamberInfo>;
  read(): Promise<ChamberReading>;
  /** ramp rate in K/min; omitted = as fast as the chamber can */
  setpoint(celsius: number, rampKPerMin?: number): Promise<void>;
  /**
   * Run a temperature profile autonomously (like a programmable chamber): each setpoint is approached at the
   * chamber's maximum ramp and held for holdMin minutes of equipment time; the last one is held afterwards.
   * Starting a profile replaces any running one; setpoint() cancels it.
   */
  profile(points: ChamberProfilePoint[]): Promise<void>;
  close(): Promise<void>;
  on(event: "state", fn: (s: LinkState) => void): void;
}

/** Errors a driver raises, translated from protocol errors so station/ never sees protocol details. */
export class EquipmentError extends Error {
  constructor(
    readonly kind: "unreachable" | "timeout" | "rejected" | "invalid-reading" | "protocol",
    message: string,
    readonly equipmentId?: string,
    readonly channel?: number,
  ) {
    super(message);
    this.name = "EquipmentError";
  }
}
