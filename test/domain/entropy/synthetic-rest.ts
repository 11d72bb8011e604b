/**
 * Synthetic rest traces with known dU/dT for the entropy tests: a chamber profile, a first-order thermal lag to
 * the cell (so the cell temperature lags the chamber as in air), a two-exponential OCV relaxation, Gaussian noise
 * on voltage and temperature, and the instrument's resolution. Closed form, independent of the estimators.
 */
export interface ChamberHold {
  setpointC: number;
  holdS: number;
}

export interface SyntheticRestSpec {
  seed: number;
  dudtMvPerK: number;
  ocvAt25V: number;
  holds: ChamberHold[];
  logEveryS: number;
  /** cell thermal time constant [s] */
  thermalTauS: number;
  /** chamber air time constant [s] */
  chamberTauS: number;
  relaxation: { amplitudeV: number; tauS: number }[];
  voltageSigmaV: number;
  temperatureSigmaK: number;
  initialC?: number;
}

/** mulberry32: a small seeded generator, so every test trace is reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() + 1e-300)) * Math.cos(2 * Math.PI * random());
}

export function syntheticRest(spec: SyntheticRestSpec): { timeS: number[]; voltageV: number[]; temperatureC: number[] } {
  const random = seededRandom(spec.seed);
  const dt = 1;
  let chamberC = spec.initialC ?? 25;
  let cellC = chamberC;
  const timeS: number[] = [];
  const voltageV: number[] = [];
  const temperatureC: number[] = [];
  let t = 0;
  for (const hold of spec.holds) {
    for (let s = 0; s < hold.holdS; s += dt, t += dt) {
      if (t % spec.logEveryS === 0) {
        const drift = spec.relaxation.reduce((sum, r) => sum + r.amplitudeV * Math.exp(-t / r.tauS), 0);
        const v = spec.ocvAt25V + (spec.dudtMvPerK / 1000) * (cellC - 25) + drift + spec.voltageSigmaV * gaussian(random);
        timeS.push(t);
        voltageV.push(Math.round(v * 1e5) / 1e5);
        temperatureC.push(Math.round((cellC + spec.temperatureSigmaK * gaussian(random)) * 100) / 100);
      }
      chamberC = hold.setpointC + (chamberC - hold.setpointC) * Math.exp(-dt / spec.chamberTauS);
      cellC = chamberC + (cellC - chamberC) * Math.exp(-dt / spec.thermalTauS);
    }
  }
  return { timeS, voltageV, temperatureC };
}

/** The fast recipe's chamber profile: alternate ±5 K around 25 °C in 20 min holds, 2 h in all. */
export const FAST_PROFILE: ChamberHold[] = [
  { setpointC: 30, holdS: 1200 },
  { setpointC: 20, holdS: 1200 },
  { setpointC: 30, holdS: 1200 },
  { setpointC: 20, holdS: 1200 },
  { setpointC: 25, holdS: 2400 },
];

/** The reference recipe's plateaus: 25 (relax after the SOC change) → 15 → 25 → 35 °C. */
export const REFERENCE_PROFILE: ChamberHold[] = [
  { setpointC: 25, holdS: 4 * 3600 },
  { setpointC: 15, holdS: 3 * 3600 },
  { setpointC: 25, holdS: 3 * 3600 },
  { setpointC: 35, holdS: 3 * 3600 },
];
