/**
 * One channel's record buffer (DESIGN §4 "Records"): a ring of ChannelRecord with a monotonically increasing
 * sequence number; the oldest records are overwritten when full. Readers page with since(afterSeq, max).
 *
 * Stored as columns of reported values (integer counts at RESOLUTION, times as float64), ~50 bytes a record, and
 * grown on demand up to the capacity, so a large configured buffer costs memory only as it fills.
 * Sequence numbers are plain numbers inside (exact to 2^53) and bigint outside, as the contract says.
 */
import type { ChannelRecord } from "../../server/domain/equipment/channel.ts";
import { RESOLUTION } from "./measurement.ts";

const INITIAL_ROWS = 256;

export class RecordRing {
  readonly capacity: number;
  /** seq of the newest record (0 = none since the last clear) */
  private newestSeq = 0;
  private size = 0;
  private rows = 0;
  private unixTimeS = new Float64Array(0);
  private testTimeS = new Float64Array(0);
  private stepIndex = new Uint16Array(0);
  private cycle = new Uint32Array(0);
  private voltage = new Int32Array(0);
  private current = new Int32Array(0);
  private temperature = new Int32Array(0);
  private chargeAh = new Int32Array(0);
  private dischargeAh = new Int32Array(0);
  private chargeWh = new Int32Array(0);
  private dischargeWh = new Int32Array(0);
  private flags = new Uint8Array(0);

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`record ring capacity must be a positive integer (got ${capacity})`);
    this.capacity = capacity;
  }

  get lastSeq(): bigint {
    return BigInt(this.newestSeq);
  }

  /** seq of the oldest record still held (lastSeq + 1 when empty) */
  get firstSeq(): bigint {
    return BigInt(this.newestSeq - this.size + 1);
  }

  get length(): number {
    return this.size;
  }

  /** Appends one record (values in units; stored at RESOLUTION) and returns its seq. */
  push(
    unixTimeS: number,
    testTimeS: number,
    stepIndex: number,
    cycle: number,
    voltageV: number,
    currentA: number,
    temperatureC: number,
    chargeAh: number,
    dischargeAh: number,
    chargeWh: number,
    dischargeWh: number,
    flags: number,
  ): number {
    if (this.size === this.rows && this.rows < this.capacity) this.grow();
    const seq = ++this.newestSeq;
    const i = seq % this.rows;
    this.unixTimeS[i] = unixTimeS;
    this.testTimeS[i] = testTimeS;
    this.stepIndex[i] = stepIndex;
    this.cycle[i] = cycle;
    this.voltage[i] = Math.round(voltageV * RESOLUTION.voltagePerV);
    this.current[i] = Math.round(currentA * RESOLUTION.currentPerA);
    this.temperature[i] = Math.round(temperatureC * RESOLUTION.temperaturePerK);
    this.chargeAh[i] = Math.round(chargeAh * RESOLUTION.capacityPerAh);
    this.dischargeAh[i] = Math.round(dischargeAh * RESOLUTION.capacityPerAh);
    this.chargeWh[i] = Math.round(chargeWh * RESOLUTION.energyPerWh);
    this.dischargeWh[i] = Math.round(dischargeWh * RESOLUTION.energyPerWh);
    this.flags[i] = flags;
    if (this.size < this.rows) this.size++;
    return seq;
  }

  /** Records with seq > afterSeq, oldest first, at most max; records that left the ring are skipped. */
  since(afterSeq: bigint, max: number): ChannelRecord[] {
    const oldest = this.newestSeq - this.size + 1;
    const from = Math.max(oldest, Number(afterSeq < 0n ? 0n : afterSeq) + 1);
    const to = Math.min(this.newestSeq, from + Math.max(0, Math.floor(max)) - 1);
    const out: ChannelRecord[] = [];
    for (let seq = from; seq <= to; seq++) out.push(this.read(seq));
    return out;
  }

  /** Forgets every record; the next record is seq 1 again (a rebooted instrument: its bootId tells readers). */
  clear(): void {
    this.newestSeq = 0;
    this.size = 0;
  }

  private read(seq: number): ChannelRecord {
    const i = seq % this.rows;
    return {
      seq: BigInt(seq),
      unixTimeS: Math.round(this.unixTimeS[i] * RESOLUTION.timePerS) / RESOLUTION.timePerS,
      testTimeS: Math.round(this.testTimeS[i] * RESOLUTION.timePerS) / RESOLUTION.timePerS,
      stepIndex: this.stepIndex[i],
      cycle: this.cycle[i],
      voltageV: this.voltage[i] / RESOLUTION.voltagePerV,
      currentA: this.current[i] / RESOLUTION.currentPerA,
      temperatureC: this.temperature[i] / RESOLUTION.temperaturePerK,
      chargeAh: this.chargeAh[i] / RESOLUTION.capacityPerAh,
      dischargeAh: this.dischargeAh[i] / RESOLUTION.capacityPerAh,
      chargeWh: this.chargeWh[i] / RESOLUTION.energyPerWh,
      dischargeWh: this.dischargeWh[i] / RESOLUTION.energyPerWh,
      flags: this.flags[i],
    };
  }

  // Every record sits at row seq % rows. Growth happens only while the ring has never wrapped (it holds seq 1..rows),
  // so rows 1..rows-1 keep their place in the larger arrays and row 0 (seq = rows) moves to row `rows`.
  private grow(): void {
    const next = Math.min(this.capacity, Math.max(INITIAL_ROWS, this.rows * 2));
    const old = this.rows;
    const move = <T extends Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(next);
      b.set(a);
      if (old > 0) b[old] = a[0];
      return b;
    };
    this.unixTimeS = move(this.unixTimeS, (n) => new Float64Array(n));
    this.testTimeS = move(this.testTimeS, (n) => new Float64Array(n));
    this.stepIndex = move(this.stepIndex, (n) => new Uint16Array(n));
    this.cycle = move(this.cycle, (n) => new Uint32Array(n));
    this.voltage = move(this.voltage, (n) => new Int32Array(n));
    this.current = move(this.current, (n) => new Int32Array(n));
    this.temperature = move(this.temperature, (n) => new Int32Array(n));
    this.chargeAh = move(this.chargeAh, (n) => new Int32Array(n));
    this.dischargeAh = move(this.dischargeAh, (n) => new Int32Array(n));
    this.chargeWh = move(this.chargeWh, (n) => new Int32Array(n));
    this.dischargeWh = move(this.dischargeWh, (n) => new Int32Array(n));
    this.flags = move(this.flags, (n) => new Uint8Array(n));
    this.rows = next;
  }
}
