/**
 * One cycler channel running a Program (DESIGN §4): a pure state machine advanced by dt — no timers, no clock reads.
 * Sign convention (program.ts): charge current > 0. Values here are the truth; measurement.ts makes them readings.
 *
 * Time-step control (how advance(dt) is cut into sub-steps; every sub-step holds the current constant and the cell
 * advances exactly for it):
 *  1. Hard boundaries are never overshot: the logging grid (step time = k·everyS), a time end, a pulse segment end,
 *     and the end of dt. A sub-step that lands on one is snapped to it exactly.
 *  2. After every change of setpoint (step start, pulse segment, resume) the first sub-step is H_START and each next
 *     one may at most double, so fast transients (ohmic jump, short RC pairs) are resolved.
 *  3. With rates from the previous sub-step (dV/dt, dI/dt, dT/dt, |I|, |I·V|), for every end condition on voltage,
 *     current, capacity, energy and temperature moving toward its threshold, and for the CC→CV switch of cccv, the
 *     predicted time to reach it, tHit, limits the sub-step to tHit/2 while tHit > H_FINE, then to just past tHit.
 *     The threshold is approached geometrically and crossed within a sub-step of ≤ H_FINE, so an end fires within
 *     ~|dq/dt|·H_FINE of its value instead of up to a logging interval late.
 *  4. ΔV / ΔI logging: the next ΔV (ΔI) record threshold, last logged value ± delta, is approached the same way,
 *     so those records are not late either.
 *  5. Voltage- and power-controlled current (cv, cccv in CV, cp, power pulses) is re-solved at every sub-step start
 *     and held at the trapezoidal estimate I₀ + ½·(dI/dt)·h; h is limited to a 5 % change of I per sub-step.
 *  At rest all these rates are small, so sub-steps grow to the logging interval; outside a program the cell rests in
 *  one exact step per advance. None of this depends on the clock speed: physics stays right at 3600× and in afap.
 */
import { ALARM_CODES, RECORD_FLAGS, type ChannelState } from "../../server/domain/equipment/channel.ts";
import type { End, Program, Step, StepMode } from "../../server/domain/equipment/program.ts";
import { SimRequestError } from "./sim-cycler-api.ts";

/** What a channel needs from the cell it drives (a subset of the cell model's SimCell). */
export interface DrivenCell {
  readonly temperatureC: number;
  contactResistanceOhm: number;
  voltageAt(currentA: number): number;
  currentForVoltage(voltageV: number): number;
  currentForPower(powerW: number): number;
  advance(dtS: number, currentA: number, ambientC: number): void;
}

/** Receives the executor's logged samples (true values; the sink makes them readings and stores them). */
export interface RecordSink {
  record(from: ChannelExecutor, flags: number): void;
}

export interface ExecutorLimits {
  /** the instrument's current compliance: the largest |I| a cv step may draw [A] */
  maxCurrentA: number;
  /** contact check: a channel carrying current through more contact resistance than this faults [Ω] */
  maxContactOhm: number;
}

/** first sub-step after a setpoint change [s] */
const H_START = 0.1;
/** below this predicted time to a threshold, step straight across it [s] */
const H_FINE = 0.05;
/** smallest soft sub-step [s] (pulse resolution is 10 ms) */
const H_MIN = 1e-3;
/** largest relative change of a re-solved current per sub-step */
const MAX_REL_DI = 0.05;
/** remaining time below this is reached [s] */
const EPS_S = 1e-9;
/** boundaries (grid, segment, time end) closer together than this are one boundary [s] */
const BOUNDARY_TOL_S = 1e-6;
/** sub-steps shorter than this (coincident boundaries) do not update the rate estimates [s] */
const H_RATES = 1e-4;
/** safety-limit tolerance on voltage: one reading count (RESOLUTION.voltagePerV) [V] */
const SAFETY_TOL_V = 1e-5;

const QTY = { time: 0, voltage: 1, current: 2, capacity: 3, energy: 4, dVdt: 5, temperature: 6 } as const;
const ACT = { next: 0, end: 1, goto: 2 } as const;
const BOUNDARY = { none: 0, grid: 1, time: 2, segment: 3 } as const;

interface CompiledEnd {
  qty: number;
  ge: boolean;
  value: number;
  action: number;
  target: number;
  repeat: number;
  counter: number;
}

interface CompiledSegment {
  currentA: number;
  powerW: number;
  usesPower: boolean;
  endS: number;
}

interface CompiledStep {
  mode: StepMode;
  currentA: number;
  voltageV: number;
  powerW: number;
  segments: CompiledSegment[];
  ends: CompiledEnd[];
  timeEndS: number;
  everyS: number;
  deltaV: number;
  deltaI: number;
}

function compileStep(step: Step, index: number): CompiledStep {
  let t = 0;
  const segments = (step.segments ?? []).map((s) => {
    t += s.durationS;
    return { currentA: s.currentA ?? 0, powerW: s.powerW ?? 0, usesPower: s.powerW !== undefined, endS: t };
  });
  const ends = step.ends.map((e: End, j) => ({
    qty: QTY[e.on],
    ge: e.op === ">=",
    value: e.value,
    action: typeof e.then === "object" ? ACT.goto : ACT[e.then],
    target: typeof e.then === "object" ? e.then.goto : -1,
    repeat: typeof e.then === "object" && e.then.repeat !== undefined ? e.then.repeat : Infinity,
    counter: index * 8 + j,
  }));
  const timeEnds = ends.filter((e) => e.qty === QTY.time && e.ge).map((e) => e.value);
  return {
    mode: step.mode,
    currentA: step.currentA ?? 0,
    voltageV: step.voltageV ?? 0,
    powerW: step.powerW ?? 0,
    segments,
    ends,
    timeEndS: Math.min(Infinity, ...timeEnds),
    everyS: step.log.everyS,
    deltaV: step.log.deltaV ?? Infinity,
    deltaI: step.log.deltaI ?? Infinity,
  };
}

export class ChannelExecutor {
  // Read-only outside this class (public for the cycler's bulk live read without per-call allocation).
  state: ChannelState = "idle";
  alarmCode: number = ALARM_CODES.none;
  program: Program | undefined;
  stepIndex = 0;
  cycle = 0;
  stepTimeS = 0;
  testTimeS = 0;
  /** simulated epoch seconds of the present state */
  unixS = 0;
  voltageV: number;
  currentA = 0;
  stepChargeAh = 0;
  stepDischargeAh = 0;
  stepChargeWh = 0;
  stepDischargeWh = 0;

  private steps: CompiledStep[] = [];
  private step: CompiledStep | undefined;
  private repeatTaken = new Int32Array(0);
  private segment = 0;
  private hPrev = H_START / 2;
  private ratesValid = false;
  private rateV = 0;
  private rateI = 0;
  private rateT = 0;
  private boundary: number = BOUNDARY.none;
  private gridIndex = 0;
  private nextGridS = 0;
  private gridV = NaN;
  private dVdtVps = NaN;
  private lastLogV = 0;
  private lastLogI = 0;

  constructor(
    readonly channel: number,
    private cellRef: DrivenCell,
    private readonly sink: RecordSink,
    private readonly limits: ExecutorLimits,
  ) {
    this.voltageV = cellRef.voltageAt(0);
  }

  get cell(): DrivenCell {
    return this.cellRef;
  }

  get temperatureC(): number {
    return this.cellRef.temperatureC;
  }

  get stepCapacityAh(): number {
    return this.stepChargeAh + this.stepDischargeAh;
  }

  get stepEnergyWh(): number {
    return this.stepChargeWh + this.stepDischargeWh;
  }

  /** |dV/dt| over the last complete logging window of this step [V/s]; NaN before the first window closes */
  get dVdtVPerS(): number {
    return this.dVdtVps;
  }

  /** A program already validated against the instrument (sim-cycler.ts does that). */
  load(program: Program): void {
    this.require("load", this.state === "idle" || this.state === "loaded" || this.state === "finished");
    this.program = program;
    this.steps = program.steps.map(compileStep);
    this.repeatTaken = new Int32Array(program.steps.length * 8);
    this.state = "loaded";
    this.alarmCode = ALARM_CODES.none;
  }

  start(): void {
    this.require("start", (this.state === "loaded" || this.state === "finished") && this.program !== undefined);
    this.state = "running";
    this.alarmCode = ALARM_CODES.none;
    this.cycle = 1;
    this.testTimeS = 0;
    this.repeatTaken.fill(0);
    this.startStep(0);
  }

  /** Output off, step time frozen; alarm names why (none for an operator pause, commsWatchdog for the watchdog). */
  pause(alarmCode: number = ALARM_CODES.none): void {
    this.require("pause", this.state === "running");
    this.state = "paused";
    this.alarmCode = alarmCode;
    this.switchOutput(0);
    this.sink.record(this, 0);
  }

  resume(): void {
    this.require("resume", this.state === "paused");
    const current = this.setpointCurrent();
    this.state = "running";
    this.alarmCode = ALARM_CODES.none;
    this.resetStepControl();
    if (this.applyCurrent(current)) this.sink.record(this, 0);
  }

  stop(): void {
    this.require("stop", this.state === "running" || this.state === "paused");
    this.state = "finished";
    this.sink.record(this, RECORD_FLAGS.stepEnd | RECORD_FLAGS.programEnd);
    this.switchOutput(0);
  }

  ackFault(): void {
    this.require("ack-fault", this.state === "fault");
    this.alarmCode = ALARM_CODES.none;
    this.state = this.program !== undefined ? "loaded" : "idle";
  }

  /** A fault raised from outside the program (hardware): ends a running program like a safety breach. */
  raiseFault(alarmCode: number): void {
    if (this.state === "running" || this.state === "paused") this.fault(alarmCode);
    else if (this.state !== "offline") {
      this.state = "fault";
      this.alarmCode = alarmCode;
    }
  }

  /** Channel lost (power, board): output off; a program that was running is lost with it. */
  setOffline(): void {
    if (this.state === "running" || this.state === "paused") this.fault(ALARM_CODES.hardware);
    this.state = "offline";
    this.switchOutput(0);
  }

  /** Back online: a channel whose program was cut off reports the hardware fault; others are idle. */
  setOnline(): void {
    if (this.state !== "offline") return;
    this.state = this.alarmCode === ALARM_CODES.none ? "idle" : "fault";
  }

  /** After an instrument reboot: no program, no records, idle with the reboot alarm until the next load. */
  resetAfterReboot(): void {
    this.program = undefined;
    this.steps = [];
    this.step = undefined;
    this.state = "idle";
    this.alarmCode = ALARM_CODES.reboot;
    this.stepIndex = 0;
    this.cycle = 0;
    this.stepTimeS = 0;
    this.testTimeS = 0;
    this.resetAccumulators();
    this.switchOutput(0);
  }

  replaceCell(cell: DrivenCell): void {
    this.require("replace the cell", this.state !== "running" && this.state !== "paused");
    this.cellRef = cell;
    this.switchOutput(0);
  }

  /** Advances this channel by dtS simulated seconds starting at unixStartS, with the cell's ambient at ambientC. */
  advance(dtS: number, ambientC: number, unixStartS: number): void {
    this.unixS = unixStartS;
    let left = dtS;
    while (left > EPS_S && this.state === "running") {
      let h = this.chooseSubStep(left);
      if (left - h < EPS_S) h = left;
      this.subStep(h, ambientC);
      left -= h;
    }
    if (left > EPS_S) {
      this.cellRef.advance(left, 0, ambientC);
      if (this.state === "paused") this.testTimeS += left;
      this.unixS += left;
      this.voltageV = this.cellRef.voltageAt(0);
    }
  }

  private require(what: string, ok: boolean): void {
    if (!ok) {
      const why = this.program === undefined && this.state !== "offline" && this.state !== "fault" ? " (no program loaded)" : "";
      throw new SimRequestError("bad-state", `channel ${this.channel}: cannot ${what} in state ${this.state}${why}`);
    }
  }

  private resetAccumulators(): void {
    this.stepChargeAh = 0;
    this.stepDischargeAh = 0;
    this.stepChargeWh = 0;
    this.stepDischargeWh = 0;
  }

  private resetStepControl(): void {
    this.hPrev = H_START / 2;
    this.ratesValid = false;
  }

  private switchOutput(currentA: number): void {
    this.currentA = currentA;
    this.voltageV = this.cellRef.voltageAt(currentA);
  }

  /** The current the step's setpoint asks for now; NaN when a power setpoint cannot be reached. */
  private setpointCurrent(): number {
    const s = this.step as CompiledStep;
    switch (s.mode) {
      case "rest":
      case "ocv":
        return 0;
      case "cc":
        return s.currentA;
      case "cccv": {
        const lim = Math.abs(s.currentA);
        return clamp(this.cellRef.currentForVoltage(s.voltageV), -lim, lim);
      }
      case "cv":
        return clamp(this.cellRef.currentForVoltage(s.voltageV), -this.limits.maxCurrentA, this.limits.maxCurrentA);
      case "cp":
        return this.cellRef.currentForPower(s.powerW);
      case "pulse": {
        const seg = s.segments[Math.min(this.segment, s.segments.length - 1)];
        return seg.usesPower ? this.cellRef.currentForPower(seg.powerW) : seg.currentA;
      }
    }
  }

  private isResolvedCurrent(): boolean {
    const s = this.step as CompiledStep;
    if (s.mode === "cv" || s.mode === "cccv" || s.mode === "cp") return true;
    return s.mode === "pulse" && s.segments[Math.min(this.segment, s.segments.length - 1)].usesPower;
  }

  /** Switches to a new setpoint current; false (and a fault) when it is unreachable or unsafe. */
  private applyCurrent(currentA: number): boolean {
    if (Number.isNaN(currentA)) {
      const s = this.step as CompiledStep;
      const powerW = s.mode === "cp" ? s.powerW : s.segments[this.segment].powerW;
      this.fault(powerW < 0 ? ALARM_CODES.underVoltage : ALARM_CODES.overVoltage);
      return false;
    }
    this.switchOutput(currentA);
    const breach = this.safetyBreach();
    if (breach !== ALARM_CODES.none) {
      this.fault(breach);
      return false;
    }
    return true;
  }

  private startStep(index: number): void {
    this.stepIndex = index;
    this.step = this.steps[index];
    this.stepTimeS = 0;
    this.segment = 0;
    this.resetAccumulators();
    this.resetStepControl();
    this.gridIndex = 0;
    this.nextGridS = this.step.everyS;
    this.gridV = NaN;
    this.dVdtVps = NaN;
    if (!this.applyCurrent(this.setpointCurrent())) return;
    this.gridV = this.voltageV;
    this.logRecord(RECORD_FLAGS.stepStart);
  }

  private logRecord(flags: number): void {
    this.lastLogV = this.voltageV;
    this.lastLogI = this.currentA;
    this.sink.record(this, flags);
  }

  private chooseSubStep(left: number): number {
    const s = this.step as CompiledStep;
    // Boundaries within BOUNDARY_TOL_S of the nearest one are taken together, preferring the one that snaps the
    // step time to a program value (time end, then segment end), so coincident boundaries never leave a sliver step.
    let hard = left;
    this.boundary = BOUNDARY.none;
    const toGrid = this.nextGridS - this.stepTimeS;
    if (toGrid < hard) {
      hard = toGrid;
      this.boundary = BOUNDARY.grid;
    }
    if (s.mode === "pulse") {
      const toSeg = s.segments[this.segment].endS - this.stepTimeS;
      if (toSeg <= hard + BOUNDARY_TOL_S) {
        hard = toSeg;
        this.boundary = BOUNDARY.segment;
      }
    }
    const toTime = s.timeEndS - this.stepTimeS;
    if (toTime <= hard + BOUNDARY_TOL_S) {
      hard = toTime;
      this.boundary = BOUNDARY.time;
    }
    let soft = 2 * this.hPrev;
    if (this.ratesValid) {
      const v = this.voltageV;
      const absI = Math.abs(this.currentA);
      for (let k = 0; k < s.ends.length; k++) {
        const e = s.ends[k];
        let q: number;
        let rate: number;
        switch (e.qty) {
          case QTY.voltage:
            q = v;
            rate = this.rateV;
            break;
          case QTY.current:
            q = absI;
            rate = this.currentA >= 0 ? this.rateI : -this.rateI;
            break;
          case QTY.capacity:
            q = this.stepChargeAh + this.stepDischargeAh;
            rate = absI / 3600;
            break;
          case QTY.energy:
            q = this.stepChargeWh + this.stepDischargeWh;
            rate = Math.abs(absI * v) / 3600;
            break;
          case QTY.temperature:
            q = this.cellRef.temperatureC;
            rate = this.rateT;
            break;
          default:
            continue;
        }
        soft = Math.min(soft, approach(q, rate, e.value, e.ge));
      }
      if (s.mode === "cccv" && Math.abs(this.currentA) >= Math.abs(s.currentA)) {
        soft = Math.min(soft, approach(v, this.rateV, s.voltageV, s.currentA > 0));
      }
      if (s.deltaV !== Infinity) soft = Math.min(soft, approach(v, this.rateV, this.lastLogV + (this.rateV >= 0 ? s.deltaV : -s.deltaV), this.rateV >= 0));
      if (s.deltaI !== Infinity) {
        soft = Math.min(soft, approach(this.currentA, this.rateI, this.lastLogI + (this.rateI >= 0 ? s.deltaI : -s.deltaI), this.rateI >= 0));
      }
      if (this.rateI !== 0 && this.isResolvedCurrent()) soft = Math.min(soft, (MAX_REL_DI * absI) / Math.abs(this.rateI));
    }
    if (soft < H_MIN) soft = H_MIN;
    if (soft < hard) {
      this.boundary = BOUNDARY.none;
      return soft;
    }
    return hard < 0 ? 0 : hard;
  }

  private subStep(h: number, ambientC: number): void {
    const s = this.step as CompiledStep;
    const cell = this.cellRef;
    const i0 = this.currentA;
    const v0 = this.voltageV;
    const t0 = cell.temperatureC;
    const resolved = this.isResolvedCurrent();
    const iUsed = resolved && this.ratesValid ? i0 + 0.5 * this.rateI * h : i0;

    cell.advance(h, iUsed, ambientC);
    const boundary = this.boundary;
    this.stepTimeS =
      boundary === BOUNDARY.grid ? this.nextGridS : boundary === BOUNDARY.time ? s.timeEndS : boundary === BOUNDARY.segment ? s.segments[this.segment].endS : this.stepTimeS + h;
    this.testTimeS += h;
    this.unixS += h;

    const i1 = resolved ? this.setpointCurrent() : i0;
    if (Number.isNaN(i1)) {
      this.applyCurrent(i1);
      return;
    }
    const v1 = cell.voltageAt(i1);
    const ahMoved = (iUsed * h) / 3600;
    const whMoved = (ahMoved * (v0 + v1)) / 2;
    if (iUsed >= 0) {
      this.stepChargeAh += ahMoved;
      this.stepChargeWh += whMoved;
    } else {
      this.stepDischargeAh -= ahMoved;
      this.stepDischargeWh -= whMoved;
    }
    this.currentA = i1;
    this.voltageV = v1;
    if (h >= H_RATES) {
      this.rateV = (v1 - v0) / h;
      this.rateI = (i1 - i0) / h;
      this.rateT = (cell.temperatureC - t0) / h;
      this.ratesValid = true;
      this.hPrev = h;
    }

    const breach = this.safetyBreach();
    if (breach !== ALARM_CODES.none) {
      this.fault(breach);
      return;
    }

    const onGrid = this.stepTimeS >= this.nextGridS - BOUNDARY_TOL_S;
    if (onGrid) {
      this.dVdtVps = Math.abs(v1 - this.gridV) / s.everyS;
      this.gridV = v1;
      this.gridIndex = Math.floor((this.stepTimeS + BOUNDARY_TOL_S) / s.everyS);
      this.nextGridS = (this.gridIndex + 1) * s.everyS;
    }
    const met = this.firstMetEnd(onGrid);
    const segmentDone = s.mode === "pulse" && this.stepTimeS >= s.segments[this.segment].endS - BOUNDARY_TOL_S;
    const pulseDone = segmentDone && this.segment === s.segments.length - 1;
    if (met !== undefined) {
      this.endStep(met.action, met.target, met.repeat, met.counter);
      return;
    }
    if (pulseDone) {
      this.endStep(ACT.next, -1, Infinity, -1);
      return;
    }
    if (onGrid || segmentDone || Math.abs(v1 - this.lastLogV) >= s.deltaV || Math.abs(i1 - this.lastLogI) >= s.deltaI) this.logRecord(0);
    if (segmentDone) {
      this.segment++;
      this.resetStepControl();
      if (this.applyCurrent(this.setpointCurrent())) this.logRecord(0);
    }
  }

  private firstMetEnd(onGrid: boolean): CompiledEnd | undefined {
    const s = this.step as CompiledStep;
    for (let k = 0; k < s.ends.length; k++) {
      const e = s.ends[k];
      let q: number;
      switch (e.qty) {
        case QTY.time:
          q = this.stepTimeS;
          break;
        case QTY.voltage:
          q = this.voltageV;
          break;
        case QTY.current:
          q = Math.abs(this.currentA);
          break;
        case QTY.capacity:
          q = this.stepChargeAh + this.stepDischargeAh;
          break;
        case QTY.energy:
          q = this.stepChargeWh + this.stepDischargeWh;
          break;
        case QTY.temperature:
          q = this.cellRef.temperatureC;
          break;
        default:
          if (!onGrid || Number.isNaN(this.dVdtVps)) continue;
          q = this.dVdtVps;
      }
      if (e.ge ? q >= e.value : q <= e.value) return e;
    }
    return undefined;
  }

  private endStep(action: number, target: number, repeat: number, counter: number): void {
    let nextIndex = this.stepIndex + 1;
    if (action === ACT.end) nextIndex = this.steps.length;
    else if (action === ACT.goto) {
      if (this.repeatTaken[counter] < repeat) {
        if (repeat !== Infinity) this.repeatTaken[counter]++;
        nextIndex = target;
      } else this.repeatTaken[counter] = 0;
    }
    const ending = nextIndex >= this.steps.length;
    this.logRecord(RECORD_FLAGS.stepEnd | (ending ? RECORD_FLAGS.programEnd : 0));
    if (ending) {
      this.state = "finished";
      this.switchOutput(0);
      return;
    }
    // A jump back to this or an earlier step closes a cycle (cycle counting as cyclers do for loops).
    if (nextIndex <= this.stepIndex) this.cycle++;
    this.startStep(nextIndex);
  }

  private safetyBreach(): number {
    const lim = (this.program as Program).safety;
    const v = this.voltageV;
    const absI = Math.abs(this.currentA);
    const t = this.cellRef.temperatureC;
    if (v > lim.maxVoltageV + SAFETY_TOL_V) return ALARM_CODES.overVoltage;
    if (v < lim.minVoltageV - SAFETY_TOL_V) return ALARM_CODES.underVoltage;
    if (absI > lim.maxCurrentA * (1 + 1e-9)) return ALARM_CODES.overCurrent;
    if (t > lim.maxTemperatureC) return ALARM_CODES.overTemperature;
    if (lim.minTemperatureC !== undefined && t < lim.minTemperatureC) return ALARM_CODES.underTemperature;
    if (lim.maxCapacityAh !== undefined && this.stepChargeAh + this.stepDischargeAh > lim.maxCapacityAh) return ALARM_CODES.overCapacity;
    if (absI > 0 && this.cellRef.contactResistanceOhm > this.limits.maxContactOhm) return ALARM_CODES.contactResistance;
    return ALARM_CODES.none;
  }

  /** Ends the program in the fault state: one record of the breaching values, then the output goes off. */
  private fault(alarmCode: number): void {
    this.state = "fault";
    this.alarmCode = alarmCode;
    this.logRecord(RECORD_FLAGS.fault | RECORD_FLAGS.stepEnd | RECORD_FLAGS.programEnd);
    this.switchOutput(0);
  }
}

/** Sub-step limit toward a threshold (rule 3 above); Infinity when q is not moving toward it. */
function approach(q: number, rate: number, threshold: number, rising: boolean): number {
  const dist = rising ? threshold - q : q - threshold;
  if (dist <= 0) return H_MIN;
  const towards = rising ? rate : -rate;
  if (!(towards > 0)) return Infinity;
  const tHit = dist / towards;
  return tHit > H_FINE ? Math.max(tHit / 2, H_FINE) : tHit * 1.001 + 1e-6;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
