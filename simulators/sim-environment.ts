/**
 * The simulated equipment of one station (DESIGN §5), built from the validated `simulators` config: one clock,
 * the chambers, and the cyclers filled with seeded cell populations. One clock listener drives everything: per
 * chunk (≤ the clock's maxStepS) each chamber advances first, then the cyclers in it advance with the chamber's
 * mean air temperature over the chunk (trapezoid) as their cells' ambient. Protocol front-ends are started
 * separately around the cores in `cyclers` and `chambers`.
 */
import type { SimCyclerConfig, SimulatorsConfig } from "../server/config/station-config.schema.ts";
import { newLot, secondLifeCells } from "./cell/population.ts";
import type { CellSpec } from "./cell/sim-cell.ts";
import { createSimChamber, type SimChamber } from "./chamber/sim-chamber.ts";
import { createSimClock, type ClockSpeed, type SimClock } from "./clock.ts";
import { createSimCycler, type SimCycler } from "./cycler/sim-cycler.ts";

export interface SimEnvironmentOptions {
  /** overrides cfg.clock.speed, e.g. "manual" in tests that step time themselves */
  speed?: ClockSpeed;
  /** overrides cfg.clock.start [simulated epoch seconds] */
  startUnixS?: number;
  /** wall clock [ms] for the clock and the cyclers' watchdogs (tests) */
  wallNowMs?: () => number;
}

export interface SimEnvironment {
  readonly clock: SimClock;
  readonly cyclers: Map<string, SimCycler>;
  readonly chambers: Map<string, SimChamber>;
  /** starts the clock's loop (no-op for a manual clock) */
  start(): void;
  /** stops the loop; nothing stays scheduled */
  stop(): void;
}

export function populationOf(c: SimCyclerConfig): CellSpec[] {
  const p = c.population;
  const common = { seed: p.seed, count: c.channels, chemistry: p.chemistry, serialPrefix: p.serialPrefix };
  return p.kind === "new"
    ? newLot({
        ...common,
        microShortRate: p.microShortRate,
        highResistanceRate: p.highResistanceRate,
        microShortIndices: p.microShortChannels.map((ch) => ch - 1),
        highResistanceIndices: p.highResistanceChannels.map((ch) => ch - 1),
      })
    : secondLifeCells({ ...common, microShortIndices: p.microShortChannels.map((ch) => ch - 1) });
}

export function createSimEnvironment(cfg: SimulatorsConfig, opts: SimEnvironmentOptions = {}): SimEnvironment {
  const startUnixS = opts.startUnixS ?? (cfg.clock.start !== undefined ? Date.parse(cfg.clock.start) / 1000 : Math.floor(Date.now() / 1000));
  const clock = createSimClock({ speed: opts.speed ?? cfg.clock.speed, startUnixS, wallNowMs: opts.wallNowMs });

  const chambers = new Map<string, SimChamber>();
  for (const ch of cfg.chambers) {
    if (chambers.has(ch.id)) throw new RangeError(`simulators.chambers: duplicate id "${ch.id}"`);
    chambers.set(ch.id, createSimChamber(ch));
  }

  const cyclers = new Map<string, SimCycler>();
  const inChamber = new Map<string, SimCycler[]>();
  const inRoom: SimCycler[] = [];
  cfg.cyclers.forEach((c, i) => {
    if (cyclers.has(c.id)) throw new RangeError(`simulators.cyclers.${i}: duplicate id "${c.id}"`);
    const chamber = c.chamber === undefined ? undefined : chambers.get(c.chamber);
    if (c.chamber !== undefined && chamber === undefined) throw new RangeError(`simulators.cyclers.${i}.chamber: no simulated chamber "${c.chamber}"`);
    const cycler = createSimCycler({
      id: c.id,
      cells: populationOf(c),
      recordBufferSize: c.recordBufferSize,
      watchdogMs: c.watchdogMs,
      seed: c.population.seed,
      ambientC: chamber?.actualC() ?? c.ambientC,
      startUnixS,
      wallNowMs: opts.wallNowMs,
    });
    cyclers.set(c.id, cycler);
    if (c.chamber === undefined) inRoom.push(cycler);
    else inChamber.set(c.chamber, [...(inChamber.get(c.chamber) ?? []), cycler]);
  });

  clock.onAdvance((dtS, unixStartS) => {
    for (const [id, chamber] of chambers) {
      const beforeC = chamber.actualC();
      chamber.advance(dtS);
      const meanC = (beforeC + chamber.actualC()) / 2;
      for (const cycler of inChamber.get(id) ?? []) {
        cycler.setAmbientC(meanC);
        cycler.advance(dtS, unixStartS);
      }
    }
    for (const cycler of inRoom) cycler.advance(dtS, unixStartS);
  });

  return {
    clock,
    cyclers,
    chambers,
    start: () => clock.start(),
    stop: () => clock.stop(),
  };
}
