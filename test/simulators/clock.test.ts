import { afterEach, describe, expect, it, vi } from "vitest";
import { createSimClock } from "../../simulators/clock.ts";

describe("sim clock", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("manual: advanceBy hands listeners chunks of at most maxStepS with their simulated start times", () => {
    const clock = createSimClock({ speed: "manual", startUnixS: 1000, maxStepS: 10 });
    const seen: Array<[number, number]> = [];
    clock.onAdvance((dt, start) => seen.push([dt, start]));
    clock.start();
    expect(clock.running).toBe(false);
    clock.advanceBy(25);
    expect(seen).toEqual([
      [10, 1000],
      [10, 1010],
      [5, 1020],
    ]);
    expect(clock.nowUnixS()).toBe(1025);
  });

  it("real time: speed × wall time (3600× → one simulated hour per wall second)", () => {
    vi.useFakeTimers();
    const clock = createSimClock({ speed: 3600, startUnixS: 0, wallNowMs: () => Date.now() });
    let total = 0;
    clock.onAdvance((dt) => (total += dt));
    clock.start();
    vi.advanceTimersByTime(1000);
    expect(clock.elapsedS()).toBeCloseTo(3600, 6);
    expect(total).toBeCloseTo(3600, 6);
    clock.stop();
    vi.advanceTimersByTime(1000);
    expect(clock.elapsedS()).toBeCloseTo(3600, 6);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("real time: falls behind (and says so) instead of jumping when the work cannot keep up", () => {
    let wall = 0;
    vi.useFakeTimers();
    const clock = createSimClock({ speed: 10, startUnixS: 0, wallNowMs: () => wall, tickMs: 50, maxCatchUpMs: 1000 });
    clock.start();
    wall = 5000; // a 5 s stall before the first tick
    vi.advanceTimersByTime(50);
    expect(clock.elapsedS()).toBeCloseTo(10, 9);
    expect(clock.behindS()).toBeCloseTo(40, 9);
    clock.stop();
  });

  it("afap: advances as fast as it can in maxStepS chunks while timers still run; stop leaves nothing scheduled", async () => {
    const clock = createSimClock({ speed: "afap", startUnixS: 0, maxStepS: 5 });
    let timerRuns = 0;
    const iv = setInterval(() => timerRuns++, 5);
    clock.start();
    await new Promise((r) => setTimeout(r, 120));
    clock.stop();
    clearInterval(iv);
    const elapsed = clock.elapsedS();
    expect(elapsed).toBeGreaterThan(1000);
    expect(elapsed % 5).toBe(0);
    expect(timerRuns).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 30));
    expect(clock.elapsedS()).toBe(elapsed);
  });

  it("rejects a speed below 1", () => {
    expect(() => createSimClock({ speed: 0.5, startUnixS: 0 })).toThrow(/speed/);
  });
});
