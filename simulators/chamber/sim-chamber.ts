/**
 * The simulated thermal chamber (DESIGN §4 "Chamber", §5): a setpoint approached along a ramp (K/min), the air
 * following the ramp as a first-order lag with the configured time constant, a "stable" flag, and injectable
 * heater / compressor failures after which the air drifts to the room temperature. Protocol-free, advanced by dt.
 *
 * Air model: dT/dt = (r(t) − T)/τ with r(t) the ramp (linear in time, then flat at the setpoint). Over a piece where
 * r(t) = r₀ + k·t the exact solution is T(t) = r(t) − k·τ + (T₀ − r₀ + k·τ)·e^(−t/τ), so any dt is exact.
 * A failed heater cannot hold a target above the room, a failed compressor cannot hold one below it; then the air
 * relaxes to the room with the passive time constant of the insulated box (a simulator parameter).
 * A profile runs on the chamber like a programmable controller's ramp/soak segments: each point is ramped to at the
 * maximum ramp rate, its hold starts when the ramp reaches the setpoint, and the last point is held afterwards.
 */
import { CHAMBER_ALARM_CODES } from "../../server/domain/equipment/channel.ts";
import type { SimChamberConfig } from "../../server/config/station-config.schema.ts";
import type { ChamberInfo, ChamberProfilePoint, ChamberReading } from "../../server/equipment/cycler-driver.ts";
import { quantize, RESOLUTION } from "../cycler/measurement.ts";
import { SimRequestError, type SimChamberApi } from "../cycler/sim-cycler-api.ts";

/** Chamber alarm codes (ChamberReading.alarmCode). */
export { CHAMBER_ALARM_CODES };
export type ChamberFailure = "none" | "heater" | "compressor";

export interface SimChamberOptions extends Pick<SimChamberConfig, "id" | "initialC" | "timeConstantS" | "maxRampKPerMin"> {
  serial?: string;
  /** temperature of the room around the chamber [°C] (default 25) */
  roomC?: number;
  /** passive drift time constant with heating or cooling lost [s] (default 3 × timeConstantS, a simulator assumption) */
  passiveTimeConstantS?: number;
  /** operating range [°C] (default −40..100) */
  minC?: number;
  maxC?: number;
  /** "stable" when |actual − setpoint| < stableBandK for longer than stableHoldS (defaults 0.2 K, 60 s) */
  stableBandK?: number;
  stableHoldS?: number;
}

export interface SimChamber extends SimChamberApi {
  readonly id: string;
  /** the air temperature now (truth, unquantized) [°C] */
  actualC(): number;
  advance(dtS: number): void;
  readonly faults: {
    /** a heater or compressor failure (or "none" when repaired) */
    failure(kind: ChamberFailure): void;
  };
}

export function createSimChamber(opts: SimChamberOptions): SimChamber {
  const tauS = opts.timeConstantS;
  const passiveTauS = opts.passiveTimeConstantS ?? 3 * tauS;
  const roomC = opts.roomC ?? 25;
  const minC = opts.minC ?? -40;
  const maxC = opts.maxC ?? 100;
  const bandK = opts.stableBandK ?? 0.2;
  const holdS = opts.stableHoldS ?? 60;
  if (!(tauS > 0) || !(passiveTauS > 0) || !(opts.maxRampKPerMin > 0)) {
    throw new RangeError(`chamber ${opts.id}: time constants and maxRampKPerMin must be > 0`);
  }

  let setpointC = opts.initialC;
  let rampC = opts.initialC;
  let rampKPerS = opts.maxRampKPerMin / 60;
  let airC = opts.initialC;
  let inBandS = holdS + 1;
  let failure: ChamberFailure = "none";

  let profile: ChamberProfilePoint[] = [];
  let profileIndex = 0;
  let holdLeftS = 0;

  /** Air follows input r(t) = r0 + k·t over dt with time constant tau (exact). */
  function lag(r0: number, k: number, dt: number, tau: number): number {
    return r0 + k * dt - k * tau + (airC - r0 + k * tau) * Math.exp(-dt / tau);
  }

  function checkSetpoint(celsius: number): void {
    if (!(Number.isFinite(celsius) && celsius >= minC && celsius <= maxC)) {
      throw new SimRequestError("bad-command", `chamber ${opts.id}: setpoint ${celsius} °C is outside ${minC}..${maxC} °C`);
    }
  }

  function applySetpoint(celsius: number, rampKPerMin: number): void {
    setpointC = celsius;
    rampKPerS = rampKPerMin / 60;
    // the ramp starts from the air temperature, as chamber controllers ramp from the process value
    rampC = airC;
    if (Math.abs(airC - setpointC) >= bandK) inBandS = 0;
  }

  /** One piece of time with a constant ramp slope (the ramp does not reach the setpoint inside it). */
  function advancePiece(dt: number, reachesSetpoint: boolean): void {
    const k = setpointC > rampC ? rampKPerS : setpointC < rampC ? -rampKPerS : 0;
    const uncontrolled = (failure === "heater" && rampC > roomC) || (failure === "compressor" && rampC < roomC);
    airC = uncontrolled ? lag(roomC, 0, dt, passiveTauS) : lag(rampC, k, dt, tauS);
    rampC = reachesSetpoint ? setpointC : rampC + k * dt;
    inBandS = Math.abs(airC - setpointC) < bandK ? inBandS + dt : 0;
  }

  const holding = () => profileIndex < profile.length - 1 && rampC === setpointC;

  return {
    id: opts.id,
    info: (): ChamberInfo => ({ model: "AXVIAM SimChamber", serial: opts.serial ?? `SIM-${opts.id}`, minC, maxC, simulated: true }),

    read: (): ChamberReading => ({
      setpointC,
      actualC: quantize(airC, RESOLUTION.temperaturePerK),
      stable: failure === "none" && rampC === setpointC && inBandS > holdS,
      alarmCode: CHAMBER_ALARM_CODES[failure === "heater" ? "heaterFailure" : failure === "compressor" ? "compressorFailure" : "none"],
    }),

    setpoint(celsius: number, rampKPerMin?: number): void {
      checkSetpoint(celsius);
      const ramp = rampKPerMin ?? opts.maxRampKPerMin;
      if (!(ramp > 0 && ramp <= opts.maxRampKPerMin)) {
        throw new SimRequestError("bad-command", `chamber ${opts.id}: ramp ${rampKPerMin} K/min is outside (0, ${opts.maxRampKPerMin}] K/min`);
      }
      profile = [];
      applySetpoint(celsius, ramp);
    },

    profile(points: ChamberProfilePoint[]): void {
      if (points.length === 0) throw new SimRequestError("bad-command", `chamber ${opts.id}: a profile needs at least one point`);
      points.forEach((p, i) => {
        checkSetpoint(p.setpointC);
        if (!(p.holdMin >= 0 && Number.isFinite(p.holdMin))) {
          throw new SimRequestError("bad-command", `chamber ${opts.id}: profile point ${i}: holdMin ${p.holdMin} must be ≥ 0`);
        }
      });
      profile = points.map((p) => ({ ...p }));
      profileIndex = 0;
      holdLeftS = profile[0].holdMin * 60;
      applySetpoint(profile[0].setpointC, opts.maxRampKPerMin);
    },

    actualC: () => airC,

    advance(dtS: number): void {
      if (!(dtS >= 0 && Number.isFinite(dtS))) throw new RangeError(`chamber ${opts.id}: advance needs a finite dtS ≥ 0 (got ${dtS})`);
      let left = dtS;
      while (left > 0 || (holding() && holdLeftS <= 0)) {
        if (holding()) {
          if (holdLeftS <= 0) {
            profileIndex++;
            holdLeftS = profile[profileIndex].holdMin * 60;
            applySetpoint(profile[profileIndex].setpointC, opts.maxRampKPerMin);
            continue;
          }
          const piece = Math.min(left, holdLeftS);
          advancePiece(piece, false);
          holdLeftS -= piece;
          left -= piece;
          continue;
        }
        const toSetpointS = rampC === setpointC ? Infinity : Math.abs(setpointC - rampC) / rampKPerS;
        const piece = Math.min(left, toSetpointS);
        advancePiece(piece, piece === toSetpointS);
        left -= piece;
      }
    },

    faults: {
      failure(kind: ChamberFailure) {
        failure = kind;
      },
    },
  };
}
