/**
 * What the simulated cycler reports, as opposed to what the cell does (DESIGN §5 "Measurement"): Gaussian noise and
 * finite resolution on reported values only; the physics and the end conditions use the true values.
 *
 * Accuracy figures (voltage ±0.1 mV, current ±0.02 % of the range's full scale, temperature ±0.1 K) are read as
 * ±2σ bands, so σ is half of each. Current is auto-ranged over decades below the instrument's maximum, as precision
 * cyclers do, which is what makes µA potentiostatic hold currents measurable at all. With the output off (rest,
 * OCV, paused, idle) the current reads exactly 0, as with an open output relay.
 *
 * Noise is a pure function of (seed, channel, key, quantity): the same record or the same live sample always reads
 * the same, however often and in whatever order it is read, so runs are reproducible from the seed.
 */

/** Reported resolution in counts per unit: every reported value is an integer multiple of 1/counts. */
export const RESOLUTION = {
  voltagePerV: 1e5, // 10 µV
  currentPerA: 1e7, // 0.1 µA
  temperaturePerK: 1e2, // 0.01 K
  capacityPerAh: 1e6, // 1 µAh
  energyPerWh: 1e6, // 1 µWh
  timePerS: 1e3, // 1 ms
} as const;

/** Rounds x to the nearest multiple of 1/countsPerUnit; division by the count keeps the result the same double a
 * protocol front-end gets from decoding the same integer count. */
export function quantize(x: number, countsPerUnit: number): number {
  return Math.round(x * countsPerUnit) / countsPerUnit;
}

export interface MeasurementSpec {
  voltageSigmaV: number;
  /** σ of the current reading as a fraction of the active range's full scale */
  currentSigmaOfRange: number;
  temperatureSigmaK: number;
  /** number of decade current ranges below the instrument maximum (4 → FS, FS/10 … FS/10⁴) */
  currentDecades: number;
}

export const DEFAULT_MEASUREMENT: MeasurementSpec = Object.freeze({
  voltageSigmaV: 0.05e-3,
  currentSigmaOfRange: 0.0001,
  temperatureSigmaK: 0.05,
  currentDecades: 4,
});

const QUANTITY = { voltage: 1, current: 2, temperature: 3 } as const;

export interface Measurement {
  /** reported terminal voltage for a sample identified by (channel, key) */
  voltageV(trueV: number, channel: number, key: number): number;
  /** reported current: auto-ranged noise; exactly 0 with the output off (true current 0) */
  currentA(trueI: number, channel: number, key: number): number;
  temperatureC(trueT: number, channel: number, key: number): number;
  /** full scale of the range the instrument would use for this current [A] */
  rangeA(trueI: number): number;
}

export function createMeasurement(seed: number, maxCurrentA: number, spec: MeasurementSpec = DEFAULT_MEASUREMENT): Measurement {
  const seed32 = seed | 0;

  // Standard normal from a 32-bit integer hash (murmur3 finaliser mixing) of the sample identity, via Box–Muller.
  function gaussian(channel: number, key: number, quantity: number): number {
    const keyLo = key >>> 0;
    const keyHi = Math.floor(key / 4294967296) >>> 0;
    const h1 = mix(seed32 ^ mix(Math.imul(channel, 0x9e3779b1) + quantity) ^ mix(keyLo + 0x7f4a7c15) ^ mix(keyHi + 0x632be5ab));
    const h2 = mix(h1 + 0x2545f491);
    const u1 = (h1 + 1) / 4294967297;
    const u2 = (h2 + 1) / 4294967297;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  function rangeA(trueI: number): number {
    const abs = Math.abs(trueI);
    let fs = maxCurrentA;
    for (let d = 0; d < spec.currentDecades && abs <= fs / 10; d++) fs /= 10;
    return fs;
  }

  return {
    voltageV: (v, ch, key) => quantize(v + spec.voltageSigmaV * gaussian(ch, key, QUANTITY.voltage), RESOLUTION.voltagePerV),
    currentA: (i, ch, key) =>
      i === 0 ? 0 : quantize(i + spec.currentSigmaOfRange * rangeA(i) * gaussian(ch, key, QUANTITY.current), RESOLUTION.currentPerA),
    temperatureC: (t, ch, key) => quantize(t + spec.temperatureSigmaK * gaussian(ch, key, QUANTITY.temperature), RESOLUTION.temperaturePerK),
    rangeA,
  };
}

function mix(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
