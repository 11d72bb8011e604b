/** Synthetic records with known answers for the imprint tests. */
import type { ChannelRecord } from "../../../server/domain/equipment/channel.ts";

/** Deterministic standard-normal noise (mulberry32 + Box–Muller). */
export function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-300)) * Math.cos(2 * Math.PI * uniform());
}

/**
 * One step's records: voltage(t) and current(t) given as functions of step time; accumulators integrate the
 * current exactly at the sample points (trapezoid), restarting at 0 as a cycler's per-step counters do.
 */
export function stepRecords(opts: {
  startS: number; durationS: number; everyS: number; stepIndex?: number;
  voltageV: (t: number) => number; currentA: (t: number) => number; temperatureC?: (t: number) => number;
}): ChannelRecord[] {
  const out: ChannelRecord[] = [];
  let chargeAh = 0, dischargeAh = 0, chargeWh = 0, dischargeWh = 0;
  const n = Math.round(opts.durationS / opts.everyS);
  for (let k = 0; k <= n; k++) {
    const t = k * opts.everyS;
    if (k > 0) {
      const tp = t - opts.everyS;
      const i = (opts.currentA(tp) + opts.currentA(t)) / 2;
      const p = (opts.currentA(tp) * opts.voltageV(tp) + opts.currentA(t) * opts.voltageV(t)) / 2;
      const h = opts.everyS / 3600;
      if (i > 0) { chargeAh += i * h; chargeWh += p * h; } else { dischargeAh -= i * h; dischargeWh -= p * h; }
    }
    out.push({
      seq: BigInt(Math.round((opts.startS + t) * 10)), unixTimeS: 1.7e9 + opts.startS + t, testTimeS: opts.startS + t,
      stepIndex: opts.stepIndex ?? 0, cycle: 0, voltageV: opts.voltageV(t), currentA: opts.currentA(t),
      temperatureC: opts.temperatureC ? opts.temperatureC(t) : 25, chargeAh, dischargeAh, chargeWh, dischargeWh, flags: 0,
    });
  }
  return out;
}
