/**
 * The simulators' clock (DESIGN §5 "Clock"): simulated time that runs at a speed factor of wall time, as fast as
 * possible, or only when told (manual, for deterministic tests). Every simulated timestamp (records' unixTimeS)
 * comes from here. The clock does no physics: listeners receive the simulated seconds that passed, in chunks of at
 * most maxStepS, and advance their models by exactly that much.
 */

export type ClockSpeed = number | "afap" | "manual";

export interface SimClockOptions {
  /** simulated seconds per wall second (≥ 1), "afap" (as fast as possible) or "manual" (only advanceBy moves it) */
  speed: ClockSpeed;
  /** simulated epoch seconds at elapsed 0 */
  startUnixS: number;
  /** largest simulated chunk handed to a listener [s]; couples models (chamber → cell ambient) at this granularity */
  maxStepS?: number;
  /** wall interval between real-time ticks [ms] */
  tickMs?: number;
  /** afap: wall time spent advancing before yielding to the event loop [ms], so sockets are still served */
  afapSliceMs?: number;
  /** real-time mode: at most this much wall time is caught up per tick [ms]; beyond, simulated time falls behind */
  maxCatchUpMs?: number;
  /** wall clock [ms]; injectable for tests */
  wallNowMs?: () => number;
}

export type AdvanceListener = (dtS: number, unixStartS: number) => void;

export interface SimClock {
  readonly speed: ClockSpeed;
  /** simulated epoch seconds now */
  nowUnixS(): number;
  /** simulated seconds since the clock was made */
  elapsedS(): number;
  /** simulated seconds real-time mode could not keep up with (work slower than the speed factor asks) */
  behindS(): number;
  /** registers a listener; returns its removal */
  onAdvance(fn: AdvanceListener): () => void;
  /** advances simulated time by simS now, synchronously, in chunks of at most maxStepS (any mode) */
  advanceBy(simS: number): void;
  /** starts the real-time or afap loop; a no-op in manual mode */
  start(): void;
  /** stops the loop; no timer or immediate stays scheduled */
  stop(): void;
  readonly running: boolean;
}

export function createSimClock(opts: SimClockOptions): SimClock {
  const speed = opts.speed;
  if (typeof speed === "number" && !(speed >= 1 && Number.isFinite(speed))) {
    throw new RangeError(`clock speed must be a finite number ≥ 1, "afap" or "manual" (got ${speed})`);
  }
  const maxStepS = opts.maxStepS ?? 10;
  const tickMs = opts.tickMs ?? 50;
  const afapSliceMs = opts.afapSliceMs ?? 20;
  const maxCatchUpMs = opts.maxCatchUpMs ?? 1000;
  const wallNowMs = opts.wallNowMs ?? (() => performance.now());
  const listeners = new Set<AdvanceListener>();
  let elapsedS = 0;
  let behindS = 0;
  let interval: ReturnType<typeof setInterval> | undefined;
  let immediate: ReturnType<typeof setImmediate> | undefined;
  let running = false;
  let lastWallMs = 0;

  function advanceBy(simS: number): void {
    if (!(simS >= 0) || !Number.isFinite(simS)) throw new RangeError(`advanceBy needs a finite simS ≥ 0 (got ${simS})`);
    let left = simS;
    while (left > 0) {
      const dt = left > maxStepS ? maxStepS : left;
      const unixStartS = opts.startUnixS + elapsedS;
      for (const fn of listeners) fn(dt, unixStartS);
      elapsedS += dt;
      left -= dt;
    }
  }

  function realTimeTick(): void {
    const now = wallNowMs();
    const wallMs = now - lastWallMs;
    lastWallMs = now;
    const caughtUpMs = Math.min(wallMs, maxCatchUpMs);
    behindS += ((wallMs - caughtUpMs) / 1000) * (speed as number);
    advanceBy((caughtUpMs / 1000) * (speed as number));
  }

  // afap: advance in maxStepS chunks for one slice of wall time, then yield (setImmediate runs after pending I/O).
  function afapBurst(): void {
    immediate = undefined;
    const until = wallNowMs() + afapSliceMs;
    do advanceBy(maxStepS);
    while (running && wallNowMs() < until);
    if (running) immediate = setImmediate(afapBurst);
  }

  return {
    speed,
    nowUnixS: () => opts.startUnixS + elapsedS,
    elapsedS: () => elapsedS,
    behindS: () => behindS,
    onAdvance(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    advanceBy,
    start() {
      if (running || speed === "manual") return;
      running = true;
      if (speed === "afap") {
        immediate = setImmediate(afapBurst);
      } else {
        lastWallMs = wallNowMs();
        interval = setInterval(realTimeTick, tickMs);
      }
    },
    stop() {
      running = false;
      if (interval !== undefined) clearInterval(interval);
      if (immediate !== undefined) clearImmediate(immediate);
      interval = undefined;
      immediate = undefined;
    },
    get running() {
      return running;
    },
  };
}
