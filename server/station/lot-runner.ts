/**
 * Runs one lot: every phase of the recipe in lock-step across the lot's channels (the chamber is shared, so a phase
 * with a chamber plan starts for all cells together), draining records into append-only traces as it goes.
 * Driven by tick() from the station loop; all state that matters for a restart is on disk (lot file + traces),
 * so a new LotRunner over the same files continues where the old one stopped.
 */
import type { ChannelLive } from "../domain/equipment/channel.ts";
import { ALARM_CODES, alarmName, chamberAlarmName, readingOf } from "../domain/equipment/channel.ts";
import { compilePhase, type CompiledPhase, type Recipe } from "../domain/recipes/recipe.compiler.ts";
import { EquipmentError, type ChamberDriver, type CyclerDriver, type CyclerInfo } from "../equipment/cycler-driver.ts";
import type { Logger } from "../log/logger.ts";
import type { StationStore } from "../store/station-store.ts";
import { openTrace, readTrace, type TraceRecord, type TraceWriter } from "../store/trace-store.ts";
import type { AlarmManager } from "./alarms.ts";
import type { Lot, LotFile, Run } from "./run.types.ts";

/** What a finished run's analysis gets: its records grouped by the role tags of the recipe's steps. */
export interface RoleSegment {
  role: string;
  phase: string;
  records: TraceRecord[];
}

export interface LotAnalysis {
  /** per-cell analysis (imprint or second-life grade); throws a clear error when data are insufficient */
  cell(lot: Lot, run: Run, segments: RoleSegment[]): Promise<unknown>;
  /** lot-level outcome over the finished cells (bins, matching groups, route distribution) */
  lot(lot: Lot, cells: Map<string, unknown>): Promise<unknown>;
}

export interface CyclerAccess {
  driver: CyclerDriver;
  info(): CyclerInfo | undefined;
  /** latest bulk live reading of the cycler (from its monitor) */
  live(): ChannelLive[] | undefined;
}

export interface LotRunnerDeps {
  store: StationStore;
  recipe: Recipe;
  cyclers: Map<string, CyclerAccess>;
  chamber?: ChamberDriver;
  alarms: AlarmManager;
  analysis: LotAnalysis;
  log: Logger;
  onChange(lot: Lot, runs: Run[]): void;
}

/** records per readRecords request, and requests per run per tick (keeps one busy channel from starving the rest) */
const RECORD_BATCH = 1000;
const MAX_BATCHES_PER_TICK = 20;
const ACTIVE: ReadonlySet<Run["state"]> = new Set(["execute", "held"]);
const RECENT_RECORDS = 32;
/** window over which the voltage at the end of a phase is averaged [s] */
const REST_VOLTAGE_WINDOW_S = 300;

/**
 * The cell's voltage at the end of a phase, for a following "CV hold at OCV": the mean of the last 5 min of
 * zero-current records, not one reading — one reading carries the voltmeter's noise (±0.1 mV), and a hold that
 * is offset by it drives a current the hold analysis would read as self-discharge.
 */
export function restVoltage(recent: readonly TraceRecord[]): number {
  const last = recent[recent.length - 1];
  const window = recent.filter((r) => r.testTimeS >= last.testTimeS - REST_VOLTAGE_WINDOW_S && Math.abs(r.currentA) < 1e-6);
  const used = window.length > 0 ? window : [last];
  return used.reduce((s, r) => s + r.voltageV, 0) / used.length;
}

export class LotRunner {
  readonly lotId: string;
  private readonly traces = new Map<string, TraceWriter>();
  /** run id → phase finished on the channel and every record drained */
  private readonly phaseDone = new Set<string>();
  /**
   * run id → equipment time of the phase it finished [s], added to the run only in the write that leaves the phase:
   * a station killed while the lot waits for its slowest channel recounts the phase from the trace, never twice.
   */
  private readonly phaseTimeS = new Map<string, number>();
  /** the last few records of each run, for the state at the end of a phase */
  private recent = new Map<string, TraceRecord[]>();
  private ticking = false;
  /** analyses of a lot being finished, kept while its writes are retried */
  private finishing?: { results: Map<string, unknown>; failed: Map<string, string>; lotResult: unknown; finishedAt: string };
  private finishReason?: string;

  constructor(
    private readonly file: LotFile,
    private readonly deps: LotRunnerDeps,
  ) {
    this.lotId = file.lot.id;
  }

  get lot(): Lot {
    return this.file.lot;
  }
  get runs(): Run[] {
    return this.file.runs;
  }
  /** a tick is in progress */
  get busy(): boolean {
    return this.ticking;
  }
  get recipePhaseCount(): number {
    return this.deps.recipe.phases.length;
  }

  private trace(run: Run): TraceWriter {
    let t = this.traces.get(run.id);
    if (!t) {
      t = openTrace(this.deps.store.traceFile(this.lotId, run.id));
      this.traces.set(run.id, t);
    }
    return t;
  }

  private async save(): Promise<void> {
    await this.deps.store.saveLot(this.lotId);
    this.deps.onChange(this.file.lot, this.file.runs);
  }

  private phase(run: Run): CompiledPhase {
    const p = this.deps.recipe.phases[this.lot.phaseIndex];
    const info = this.deps.cyclers.get(run.cyclerId)?.info();
    if (!info) throw new Error(`cycler ${run.cyclerId} is not connected`);
    return compilePhase(
      this.deps.recipe,
      p.name,
      { nominalCapacityAh: this.lot.nominalCapacityAh, chemistry: this.lot.chemistry as "nmc811-graphite" },
      info.limits,
      run.restVoltageV === undefined ? {} : { restVoltageV: run.restVoltageV },
    );
  }

  private abortRun(run: Run, reason: string, condition: string): void {
    run.state = "aborted";
    run.reason = reason;
    run.finishedAt = new Date().toISOString();
    this.deps.alarms.raise({ source: `${run.cyclerId}/${run.channel}`, condition, severity: "high", message: `${run.serial}: ${reason}` });
    this.deps.log.warn({ lot: this.lotId, run: run.id, serial: run.serial, reason }, "run aborted");
  }

  /** One step of the lot's state machine. Never throws: problems become alarms, held or aborted runs. */
  async tick(): Promise<void> {
    if (this.ticking || this.lot.state !== "execute") return;
    this.ticking = true;
    try {
      if (this.finishing || this.lot.phaseIndex >= this.deps.recipe.phases.length) await this.finish(this.finishReason);
      else if (this.lot.phaseState === "starting") await this.startPhase();
      else await this.followPhase();
      this.deps.alarms.clear(`lot:${this.lotId}`, "station-error"); // the problem, if any, has gone
    } catch (e) {
      this.deps.log.error({ lot: this.lotId, err: (e as Error).message }, "lot tick failed");
      this.deps.alarms.raise({ source: `lot:${this.lotId}`, condition: "station-error", severity: "medium", message: (e as Error).message });
    } finally {
      this.ticking = false;
    }
  }

  private async startPhase(): Promise<void> {
    const recipePhase = this.deps.recipe.phases[this.lot.phaseIndex];
    const plan = recipePhase.chamber;
    if (plan?.kind === "setpoint") {
      const chamber = this.requireChamber();
      const reading = await chamber.read();
      if (reading.alarmCode !== 0) {
        // Waiting for "stable" from a failed chamber would wait for ever: hold the lot with the reason instead.
        this.lot.state = "held";
        this.lot.reason = `chamber reports ${chamberAlarmName(reading.alarmCode)} (code ${reading.alarmCode}; actual ${reading.actualC.toFixed(1)} °C, setpoint ${reading.setpointC.toFixed(1)} °C) before phase "${recipePhase.name}"; resume the lot once it is repaired`;
        this.deps.alarms.raise({ source: `lot:${this.lotId}`, condition: "chamber-failure", severity: "high", message: this.lot.reason });
        await this.save();
        return;
      }
      if (Math.abs(reading.setpointC - plan.setpointC) > 1e-6) await chamber.setpoint(plan.setpointC, plan.rampKPerMin);
      if (plan.waitStable && !(reading.stable && Math.abs(reading.setpointC - plan.setpointC) < 1e-6)) return; // next tick
    }
    // Decide on a channel only from a reading of it: right after a (re)start the monitor may not have one yet.
    const unread = (r: Run) => {
      const access = this.deps.cyclers.get(r.cyclerId);
      return !access || !readingOf(access.live(), r.channel);
    };
    if (this.runs.some((r) => r.state === "execute" && unread(r))) return;
    const starting = this.runs
      .filter((r) => r.state === "execute")
      .map((run) => {
        const access = this.deps.cyclers.get(run.cyclerId)!;
        const compiled = this.phase(run);
        const live = readingOf(access.live(), run.channel);
        // A fresh trace starts after whatever the channel logged before this run (earlier lots share its buffer).
        if (run.startSeq === undefined) run.startSeq = (live?.lastSeq ?? 0n).toString();
        // run.programId is the persisted intent: the program this run downloaded for this phase (a channel showing the
        // same program id from an earlier lot is not ours). After a restart it tells what is already done.
        const ours = live !== undefined && live.programId === compiled.program.id && run.programId === compiled.program.id;
        const started = ours && ["running", "paused", "finished"].includes(live.state);
        const loadedOnly = ours && live.state === "loaded";
        return { run, access, compiled, live, started, loadedOnly };
      });
    const toLoad = starting.filter((x) => !x.started && !x.loadedOnly);
    // 1. Download every program first, all channels at once (each protocol's driver serialises what it must).
    //    A program the cycler rejects ends that run; a link problem is retried on the next tick.
    const loaded = await Promise.allSettled(
      toLoad.map(async ({ run, access, compiled, live }) => {
        if (live && (live.state === "finished" || live.state === "loaded")) await access.driver.command(run.channel, "stop").catch(() => undefined);
        await access.driver.load(run.channel, compiled.program);
      }),
    );
    loaded.forEach((r, i) => {
      if (r.status === "rejected" && r.reason instanceof EquipmentError && r.reason.kind === "rejected") this.abortRun(toLoad[i].run, `program rejected by the cycler: ${r.reason.message}`, "program-rejected");
    });
    const failed = loaded.find((r): r is PromiseRejectedResult => r.status === "rejected" && !(r.reason instanceof EquipmentError && r.reason.kind === "rejected"));
    if (failed) throw failed.reason;
    // 2. Persist the intent before anything starts: a station killed during the start commands finds on restart
    //    which channels run this phase's program (started) and which only hold it (loaded), and reloads none.
    for (const { run, access, compiled } of starting) {
      if (run.state !== "execute") continue;
      run.programId = compiled.program.id;
      run.phaseIndex = this.lot.phaseIndex;
      run.bootId = access.info()?.bootId;
      this.phaseDone.delete(run.id);
    }
    await this.save();
    // 3. The chamber profile starts before the channels: its first hold absorbs the spread of the start commands,
    //    which matters when a simulated clock runs thousands of times faster than the network.
    if (plan?.kind === "profile") await this.requireChamber().profile(plan.profile);
    // 4. Start every channel together.
    await Promise.all(starting.filter((x) => !x.started && x.run.state === "execute").map(({ run, access }) => access.driver.command(run.channel, "start")));
    this.lot.phaseState = "running";
    this.deps.log.info({ lot: this.lotId, phase: recipePhase.name, index: this.lot.phaseIndex }, "phase started");
    await this.save();
  }

  private requireChamber(): ChamberDriver {
    if (!this.deps.chamber) throw new Error(`lot ${this.lotId}: recipe phase "${this.deps.recipe.phases[this.lot.phaseIndex].name}" needs a chamber, and the cycler has none configured`);
    return this.deps.chamber;
  }

  private async followPhase(): Promise<void> {
    let changed = false;
    const ready: { run: Run; access: CyclerAccess; live: ChannelLive }[] = [];
    for (const run of this.runs.filter((r) => ACTIVE.has(r.state))) {
      const access = this.deps.cyclers.get(run.cyclerId);
      const info = access?.info();
      const live = access && readingOf(access.live(), run.channel);
      if (!access || !info || !live) continue; // link down: records stay in the cycler's buffer until it is back
      if (run.bootId !== undefined && info.bootId !== run.bootId) {
        this.abortRun(run, `cycler ${run.cyclerId} rebooted during the run (boot ${run.bootId} → ${info.bootId}); records after seq ${this.trace(run).lastSeq()} were lost with its buffer`, "cycler-reboot");
        changed = true;
        continue;
      }
      ready.push({ run, access, live });
    }
    // Drain only channels whose cycler reports records the station does not hold yet, cyclers in parallel (each
    // driver serialises its own requests). Every drain settles before the tick goes on or fails: a drain still
    // running into the next tick could append the same records twice.
    const byCycler = new Map<string, typeof ready>();
    for (const r of ready) if (r.live.lastSeq > this.heldSeq(r.run)) byCycler.set(r.run.cyclerId, [...(byCycler.get(r.run.cyclerId) ?? []), r]);
    const drained = await Promise.allSettled([...byCycler.values()].map(async (list) => {
      for (const r of list) await this.drain(r.run, r.access.driver);
    }));
    const failed = drained.find((d): d is PromiseRejectedResult => d.status === "rejected");
    if (failed) throw failed.reason;
    for (const { run, access, live } of ready) {
      // The cycler's record sequence went backwards: its buffer was cleared (a reboot), whatever the protocol tells.
      // The monitor's snapshot may predate the records just drained, so a drop is confirmed with a fresh reading.
      const held = this.trace(run).lastSeq();
      if (live.lastSeq < held) {
        const fresh = (await access.driver.readLive()).find((c) => c.channel === run.channel);
        if (fresh && fresh.lastSeq < held) {
          this.abortRun(run, `cycler ${run.cyclerId} lost its record buffer (last record seq ${fresh.lastSeq}, station holds up to ${held}); the run is interrupted, its records up to seq ${held} are kept`, "cycler-reboot");
          changed = true;
        }
        continue; // judge the phase on the next tick's snapshot
      }
      if (live.programId !== run.programId) continue;
      if (live.state === "fault") {
        this.abortRun(run, `channel fault: ${alarmName(live.alarmCode)} (code ${live.alarmCode})`, `fault-${alarmName(live.alarmCode)}`);
        changed = true;
      } else if (live.state === "paused" && live.alarmCode === ALARM_CODES.commsWatchdog && run.state === "execute") {
        // The cycler put the channel to safe rest while the station was away; we are back, so carry on.
        await access.driver.command(run.channel, "ack-fault").catch(() => undefined);
        await access.driver.command(run.channel, "resume");
        this.deps.log.info({ run: run.id, channel: run.channel }, "resumed after watchdog safe rest");
      } else if (live.state === "finished" && this.trace(run).lastSeq() >= live.lastSeq && !this.phaseDone.has(run.id)) {
        this.phaseDone.add(run.id);
        const recent = this.recent.get(run.id) ?? readTrace(this.trace(run).file).slice(-RECENT_RECORDS); // after a restart
        const last = recent.at(-1);
        if (last) {
          run.restVoltageV = restVoltage(recent);
          this.phaseTimeS.set(run.id, last.testTimeS);
        }
        changed = true;
      }
    }
    const active = this.runs.filter((r) => r.state === "execute");
    if (active.length === 0) {
      await this.finish("every run aborted");
      return;
    }
    if (active.every((r) => this.phaseDone.has(r.id))) {
      for (const run of active) run.equipmentTimeS += this.phaseTimeS.get(run.id) ?? 0;
      this.phaseTimeS.clear();
      this.lot.phaseIndex += 1;
      this.lot.phaseState = "starting";
      if (this.lot.phaseIndex >= this.deps.recipe.phases.length) await this.finish();
      else await this.save();
      return;
    }
    if (changed) await this.save();
  }

  /** the newest record seq the station holds for the run (its start seq before the first record) */
  private heldSeq(run: Run): bigint {
    const last = this.trace(run).lastSeq();
    return last >= 0n ? last : BigInt(run.startSeq ?? "0");
  }

  private async drain(run: Run, driver: CyclerDriver): Promise<void> {
    const trace = this.trace(run);
    for (let i = 0; i < MAX_BATCHES_PER_TICK; i++) {
      const after = this.heldSeq(run);
      const records = await driver.readRecords(run.channel, after, RECORD_BATCH);
      if (records.length === 0) return;
      const withPhase = records.map((r) => ({ ...r, phaseIndex: this.lot.phaseIndex }));
      const first = records[0].seq;
      if (first !== after + 1n) {
        this.deps.alarms.raise({ source: `${run.cyclerId}/${run.channel}`, condition: "record-gap", severity: "high", message: `${run.serial}: records ${after + 1n}…${first - 1n} are no longer in the cycler's buffer` });
      }
      trace.append(withPhase);
      this.recent.set(run.id, [...(this.recent.get(run.id) ?? []), ...withPhase].slice(-RECENT_RECORDS));
      if (records.length < RECORD_BATCH) return;
    }
  }

  /**
   * Analyse every finished run, write the results and the serial index, and only then mark runs and lot complete.
   * Retryable: when a write fails (disk full) the tick fails, the analyses are kept, and the next tick tries the
   * writes again — nothing is marked complete that is not on disk.
   */
  private async finish(reason?: string): Promise<void> {
    this.finishReason ??= reason;
    this.finishing ??= await this.analyseAll();
    const { results, failed, lotResult, finishedAt } = this.finishing;
    await this.deps.store.saveResults(this.lotId, (r) => {
      for (const [serial, result] of results) r.cells[serial] = result;
      r.lot = lotResult;
    });
    const complete = this.runs.filter((r) => r.state === "execute" && results.has(r.serial));
    // concurrent index writes share one journal append and one sync (serial-index.ts)
    await Promise.all(complete.map((run) => this.deps.store.indexSerial(run.serial, { lotId: this.lotId, runId: run.id, kind: this.lot.kind, finishedAt })));
    for (const run of complete) {
      run.state = "complete";
      run.finishedAt = finishedAt;
    }
    for (const [runId, message] of failed) {
      const run = this.runs.find((r) => r.id === runId)!;
      if (run.state === "execute") this.abortRun(run, `analysis failed: ${message}`, "analysis-failed");
    }
    this.lot.state = results.size > 0 ? "complete" : "aborted";
    if (this.finishReason) this.lot.reason = this.finishReason;
    this.lot.finishedAt = finishedAt;
    for (const t of this.traces.values()) t.close();
    this.traces.clear();
    this.deps.log.info({ lot: this.lotId, complete: results.size, runs: this.runs.length }, "lot finished");
    await this.save();
  }

  private async analyseAll(): Promise<NonNullable<LotRunner["finishing"]>> {
    const results = new Map<string, unknown>();
    const failed = new Map<string, string>();
    for (const run of this.runs.filter((r) => r.state === "execute")) {
      // Analyses are CPU work of ~1 s per cell: yield between cells so links, heartbeats and the HMI stay served.
      await new Promise((r) => setImmediate(r));
      try {
        results.set(run.serial, await this.deps.analysis.cell(this.lot, run, this.segments(run)));
      } catch (e) {
        failed.set(run.id, (e as Error).message);
      }
    }
    const lotResult = results.size > 0 ? await this.deps.analysis.lot(this.lot, results) : undefined;
    return { results, failed, lotResult, finishedAt: new Date().toISOString() };
  }

  /**
   * The run's records cut into segments, one per execution of a role-tagged step (a looped step gives one segment
   * per cycle), in time order — the shape the domain analyses take.
   */
  segments(run: Run): RoleSegment[] {
    const records = readTrace(this.deps.store.traceFile(this.lotId, run.id));
    const rolesByPhase = this.deps.recipe.phases.map((p) => {
      const compiled = compilePhase(
        this.deps.recipe, p.name,
        { nominalCapacityAh: this.lot.nominalCapacityAh, chemistry: this.lot.chemistry as "nmc811-graphite" },
        this.deps.cyclers.get(run.cyclerId)?.info()?.limits ?? { maxVoltageV: 1e3, minVoltageV: -1e3, maxCurrentA: 1e6, maxTemperatureC: 1e3 },
        { restVoltageV: 3.6 }, // roles do not depend on the hold voltage
      );
      return new Map(compiled.roles.map((r) => [r.stepIndex, r.role]));
    });
    const out: RoleSegment[] = [];
    let key = "";
    for (const r of records) {
      const role = rolesByPhase[r.phaseIndex]?.get(r.stepIndex);
      if (role === undefined) {
        key = "";
        continue;
      }
      const k = `${r.phaseIndex}/${r.stepIndex}/${r.cycle}`;
      if (k !== key) {
        out.push({ role, phase: this.deps.recipe.phases[r.phaseIndex].name, records: [] });
        key = k;
      }
      out[out.length - 1].records.push(r);
    }
    return out;
  }

  async pause(): Promise<void> {
    for (const run of this.runs.filter((r) => r.state === "execute")) {
      await this.deps.cyclers.get(run.cyclerId)?.driver.command(run.channel, "pause").catch((e: Error) => this.deps.log.warn({ run: run.id, err: e.message }, "pause failed"));
      run.state = "held";
    }
    this.lot.state = "held";
    await this.save();
  }

  async resume(): Promise<void> {
    for (const run of this.runs.filter((r) => r.state === "held")) {
      await this.deps.cyclers.get(run.cyclerId)?.driver.command(run.channel, "resume").catch((e: Error) => this.deps.log.warn({ run: run.id, err: e.message }, "resume failed"));
      run.state = "execute";
    }
    this.lot.state = "execute";
    await this.save();
  }

  async abort(reason: string): Promise<void> {
    for (const run of this.runs.filter((r) => ACTIVE.has(r.state))) {
      await this.deps.cyclers.get(run.cyclerId)?.driver.command(run.channel, "stop").catch(() => undefined);
      run.state = "aborted";
      run.reason = reason;
      run.finishedAt = new Date().toISOString();
    }
    this.lot.state = "aborted";
    this.lot.reason = reason;
    this.lot.finishedAt = new Date().toISOString();
    for (const t of this.traces.values()) t.close();
    this.traces.clear();
    await this.save();
  }
}
