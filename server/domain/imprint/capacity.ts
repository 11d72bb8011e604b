/**
 * Capacity, energy and coulombic efficiency from the cycler's per-step accumulators (IEC 61960-3 §7.3:
 * discharge capacity at a stated rate to the end-of-discharge voltage; CE = discharge Ah / preceding charge Ah).
 */
import type { ChannelRecord } from "../equipment/channel.ts";
import { ImprintError } from "./measured.ts";

export interface Throughput {
  chargeAh: number;
  dischargeAh: number;
  chargeWh: number;
  dischargeWh: number;
  durationS: number;
}

/**
 * Running total of an accumulator that restarts at every step start: increases are added; a drop means a new
 * step began, whose value (accumulated since its start) is added whole.
 */
export function accumulatedSeries(values: readonly number[]): number[] {
  const out: number[] = [];
  values.forEach((v, i) => out.push(i === 0 ? v : out[i - 1] + (v >= values[i - 1] ? v - values[i - 1] : v)));
  return out;
}

const accumulated = (values: readonly number[]): number => accumulatedSeries(values).at(-1) ?? 0;

export function throughput(records: readonly ChannelRecord[]): Throughput {
  return {
    chargeAh: accumulated(records.map((r) => r.chargeAh)),
    dischargeAh: accumulated(records.map((r) => r.dischargeAh)),
    chargeWh: accumulated(records.map((r) => r.chargeWh)),
    dischargeWh: accumulated(records.map((r) => r.dischargeWh)),
    durationS: records.length > 0 ? records[records.length - 1].testTimeS - records[0].testTimeS : 0,
  };
}

export interface CycleCapacity {
  /** 1-based, counted by discharges */
  cycle: number;
  chargeAh: number | null;
  dischargeAh: number;
  dischargeWh: number;
  /** discharge Ah / preceding charge Ah; null when no charge precedes the discharge */
  coulombicEfficiency: number | null;
  /** mean discharge voltage = Wh / Ah [V] */
  meanDischargeVoltageV: number;
}

/** Segments in time order; each discharge pairs with the charge just before it (a charge without a discharge is dropped). */
export function cycleCapacities(segments: readonly { kind: "charge" | "discharge"; records: readonly ChannelRecord[] }[], what = "capacity"): CycleCapacity[] {
  const cycles: CycleCapacity[] = [];
  let pendingChargeAh: number | null = null;
  for (const s of segments) {
    const t = throughput(s.records);
    if (s.kind === "charge") {
      pendingChargeAh = t.chargeAh;
      continue;
    }
    if (!(t.dischargeAh > 0)) throw new ImprintError(`${what}: discharge segment ${cycles.length + 1} moved no charge`);
    cycles.push({
      cycle: cycles.length + 1,
      chargeAh: pendingChargeAh,
      dischargeAh: t.dischargeAh,
      dischargeWh: t.dischargeWh,
      coulombicEfficiency: pendingChargeAh !== null && pendingChargeAh > 0 ? t.dischargeAh / pendingChargeAh : null,
      meanDischargeVoltageV: t.dischargeWh / t.dischargeAh,
    });
    pendingChargeAh = null;
  }
  return cycles;
}
