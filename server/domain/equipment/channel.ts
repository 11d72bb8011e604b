/** What a channel reports: its state, live values and logged records (DESIGN §4, §4a). */

/** Channel states as the cycler reports them (PackML-like). */
export const CHANNEL_STATES = ["idle", "loaded", "running", "paused", "finished", "fault", "offline"] as const;
export type ChannelState = (typeof CHANNEL_STATES)[number];

/** Why a channel stopped or what it is warning about. 0 = none. Codes are part of both protocol maps. */
export const ALARM_CODES = {
  none: 0,
  overVoltage: 1,
  underVoltage: 2,
  overCurrent: 3,
  overTemperature: 4,
  underTemperature: 5,
  overCapacity: 6,
  hardware: 7,
  /** heartbeat watchdog expired: channel brought to a safe rest (paused), records kept */
  commsWatchdog: 8,
  /** a reading outside the instrument's range or physically impossible */
  invalidReading: 9,
  /** the cycler restarted and its record buffer was cleared */
  reboot: 10,
  contactResistance: 11,
} as const;
export type AlarmName = keyof typeof ALARM_CODES;
export type AlarmCode = (typeof ALARM_CODES)[AlarmName];

export function alarmName(code: number): AlarmName | "unknown" {
  const hit = (Object.keys(ALARM_CODES) as AlarmName[]).find((k) => ALARM_CODES[k] === code);
  return hit ?? "unknown";
}

/** Live values of one channel, read in bulk for all channels. */
export interface ChannelLive {
  channel: number;
  state: ChannelState;
  voltageV: number;
  currentA: number;
  temperatureC: number;
  /** |Ah| moved in the current step */
  stepCapacityAh: number;
  /** |Wh| moved in the current step */
  stepEnergyWh: number;
  stepIndex: number;
  stepTimeS: number;
  testTimeS: number;
  cycle: number;
  lastSeq: bigint;
  alarmCode: number;
  programId: string;
}

/** Record flag bits. */
export const RECORD_FLAGS = {
  stepStart: 1,
  stepEnd: 2,
  fault: 4,
  programEnd: 8,
} as const;

/** One logged sample. chargeAh/dischargeAh/chargeWh/dischargeWh accumulate within the current step (reset at step start). */
export interface ChannelRecord {
  seq: bigint;
  /** simulated or instrument clock, seconds since the Unix epoch */
  unixTimeS: number;
  testTimeS: number;
  stepIndex: number;
  cycle: number;
  voltageV: number;
  currentA: number;
  temperatureC: number;
  chargeAh: number;
  dischargeAh: number;
  chargeWh: number;
  dischargeWh: number;
  flags: number;
}

export type ChannelCommand = "start" | "pause" | "resume" | "stop" | "ack-fault";
export const CHANNEL_COMMANDS: readonly ChannelCommand[] = ["start", "pause", "resume", "stop", "ack-fault"];

/** Chamber failure codes, part of both chamber protocol maps. 0 = none. */
export const CHAMBER_ALARM_CODES = { none: 0, heaterFailure: 1, compressorFailure: 2 } as const;
export type ChamberAlarmName = keyof typeof CHAMBER_ALARM_CODES;

export function chamberAlarmName(code: number): ChamberAlarmName | "unknown" {
  const hit = (Object.keys(CHAMBER_ALARM_CODES) as ChamberAlarmName[]).find((k) => CHAMBER_ALARM_CODES[k] === code);
  return hit ?? "unknown";
}

/** A channel's reading in a cycler's bulk snapshot: readings come in channel order, so it is found by position. */
export function readingOf(live: readonly ChannelLive[] | undefined, channel: number): ChannelLive | undefined {
  const at = live?.[channel - 1];
  return at?.channel === channel ? at : live?.find((c) => c.channel === channel);
}
