/**
 * The simulated cycler's core, as both protocol front-ends (simulators/opcua, simulators/modbus) see it.
 * Synchronous and protocol-free: a front-end maps requests onto these calls and errors onto protocol status codes.
 * Simulator-only calls (ground truth, fault injection) are on SimCyclerControl and never exposed by a front-end
 * except through the separate, clearly named simulator-control surface used by tests.
 */
import type { ChannelCommand, ChannelLive, ChannelRecord } from "../../server/domain/equipment/channel.ts";
import type { Program } from "../../server/domain/equipment/program.ts";
import type { CyclerInfo } from "../../server/equipment/cycler-driver.ts";

/** A rejected request, with a reason a client can show (e.g. "channel 3: program exceeds maxCurrentA 10 A"). */
export class SimRequestError extends Error {
  constructor(
    readonly code: "bad-channel" | "bad-program" | "bad-state" | "bad-command",
    message: string,
  ) {
    super(message);
    this.name = "SimRequestError";
  }
}

export interface SimCyclerApi {
  info(): CyclerInfo;
  /** all channels, current values */
  live(): ChannelLive[];
  /** records with seq > afterSeq, oldest first, at most max (older ones may have left the ring buffer) */
  records(channel: number, afterSeq: bigint, max: number): ChannelRecord[];
  load(channel: number, program: Program): void;
  command(channel: number, cmd: ChannelCommand): void;
  /** the station's heartbeat; when it stops for longer than the watchdog timeout, running channels go to safe rest */
  heartbeat(): void;
}

/** Front-end fault injection (per front-end, switchable at run time). */
export interface LinkFaults {
  /** refuse/close connections */
  dropped: boolean;
  /** extra delay per request [ms]; beyond the client's timeout this is a timeout */
  delayMs: number;
  /** channels whose live values are served corrupted (NaN / out-of-range raw values) */
  corruptChannels: number[];
}

/** The simulated thermal chamber's core, as its protocol front-end sees it. */
export interface SimChamberApi {
  info(): import("../../server/equipment/cycler-driver.ts").ChamberInfo;
  read(): import("../../server/equipment/cycler-driver.ts").ChamberReading;
  /** ramp rate [K/min]; omitted = the chamber's maximum ramp rate */
  setpoint(celsius: number, rampKPerMin?: number): void;
  /** run a setpoint profile in simulated time (see ChamberDriver.profile); setpoint() cancels it */
  profile(points: import("../../server/equipment/cycler-driver.ts").ChamberProfilePoint[]): void;
}
