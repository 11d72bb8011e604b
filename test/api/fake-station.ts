/**
 * In-memory StationService for API and browser tests: lots and runs as plain objects, the real ISA-18.2 alarm
 * manager on an in-memory lowdb, and a live feed that pushes channel views into a real LiveHub. Test code drives
 * it (progress, alarms, results) and asserts what the API and HMI show.
 */
import { Low, Memory } from "lowdb";
import type { ChannelView } from "../../server/api/events.ts";
import { createAlarmManager, type AlarmFile, type AlarmManager } from "../../server/station/alarms.ts";
import type { LiveHub } from "../../server/station/live-hub.ts";
import type { Lot, Run } from "../../server/station/run.types.ts";
import { StationRequestError, type CellDetail, type LotDetail, type StartLotRequest, type StationService } from "../../server/station/station-service.ts";

export const FAKE_RECIPES = [
  { name: "factory_init", version: "1.0.0", kind: "imprint", description: "Factory imprint (fake station)" },
  { name: "second_life", version: "1.0.0", kind: "second-life", description: "Second-life grading (fake station)" },
];
export const FAKE_PHASES = ["formation", "capacity", "ica", "dcir", "self-discharge"];

export interface FakeStation extends StationService {
  alarmManager: AlarmManager;
  lotsById: Map<string, { lot: Lot; runs: Run[] }>;
  results: Map<string, { lotId: string; runId: string; result: unknown }>;
  /** move every run of the lot to a phase, with progress and ETA on the channel tiles */
  advance(lotId: string, phaseIndex: number, progress: number): void;
  /** finish the lot, storing per-serial results */
  complete(lotId: string, results: Record<string, unknown>, lotResult?: unknown): void;
  /** push one live reading for every channel (idle ones too) */
  feed(voltageFor?: (channel: number) => number): void;
}

export function createFakeStation(hub: LiveHub, opts: { cyclerId: string; channels: number; now?: () => Date }): FakeStation {
  const now = opts.now ?? (() => new Date());
  const lotListeners: ((lot: Lot, runs: Run[]) => void)[] = [];
  const alarmManager = createAlarmManager(new Low<AlarmFile>(new Memory<AlarmFile>(), { alarms: [] }), now);
  const lotsById = new Map<string, { lot: Lot; runs: Run[] }>();
  const results = new Map<string, { lotId: string; runId: string; result: unknown }>();
  const progressByChannel = new Map<number, { progress: number; etaS: number }>();
  let lotSeq = 0;

  const changed = (lotId: string) => {
    const e = lotsById.get(lotId)!;
    lotListeners.forEach((fn) => fn(structuredClone(e.lot), structuredClone(e.runs)));
  };
  const entry = (lotId: string) => {
    const e = lotsById.get(lotId);
    if (!e) throw new StationRequestError(404, `no lot ${lotId}`);
    return e;
  };
  const runOn = (channel: number) => [...lotsById.values()].flatMap((e) => e.runs).find((r) => r.channel === channel && (r.state === "execute" || r.state === "held"));
  const setState = (lotId: string, from: Lot["state"][], to: Lot["state"], runState: Run["state"], reason?: string) => {
    const e = entry(lotId);
    if (!from.includes(e.lot.state)) throw new StationRequestError(409, `lot ${lotId} is ${e.lot.state}, not ${from.join(" or ")}`);
    e.lot.state = to;
    e.lot.reason = reason;
    e.runs.forEach((r) => (r.state = runState));
    changed(lotId);
    return structuredClone(e.lot);
  };

  const station: FakeStation = {
    alarmManager,
    lotsById,
    results,
    async startLot(req: StartLotRequest) {
      const recipe = FAKE_RECIPES.find((r) => r.name === req.recipe);
      if (!recipe) throw new StationRequestError(400, `no recipe "${req.recipe}"`);
      if (req.cyclerId !== opts.cyclerId) throw new StationRequestError(404, `no cycler ${req.cyclerId}`);
      for (const c of req.cells) {
        const channel = c.channel ?? c.slot;
        if (channel > opts.channels) throw new StationRequestError(400, `cycler ${req.cyclerId} has no channel ${channel}`);
        if (runOn(channel)) throw new StationRequestError(409, `channel ${channel} is busy`);
      }
      const id = `lot-${++lotSeq}`;
      const at = now().toISOString();
      const lot: Lot = {
        id, name: req.name, kind: recipe.kind as Lot["kind"], recipe: { name: recipe.name, version: recipe.version }, tray: req.tray, operator: req.operator,
        state: "execute", phaseIndex: 0, phaseState: "running", chemistry: req.chemistry, nominalCapacityAh: req.nominalCapacityAh, simulated: true, createdAt: at,
      };
      const runs: Run[] = req.cells.map((c, i) => ({
        id: `${id}-run-${i + 1}`, lotId: id, serial: c.serial, slot: c.slot, cyclerId: req.cyclerId, channel: c.channel ?? c.slot, state: "execute", phaseIndex: 0, startedAt: at, equipmentTimeS: 0,
      }));
      lotsById.set(id, { lot, runs });
      changed(id);
      return structuredClone(lot);
    },
    pauseLot: async (lotId) => setState(lotId, ["execute"], "held", "held"),
    resumeLot: async (lotId) => setState(lotId, ["held"], "execute", "execute"),
    abortLot: async (lotId, _by, reason) => setState(lotId, ["execute", "held"], "aborted", "aborted", reason),
    listLots: async () => [...lotsById.values()].map((e) => structuredClone(e.lot)),
    async lot(lotId): Promise<LotDetail> {
      const e = entry(lotId);
      const lotResults = Object.fromEntries([...results].filter(([, r]) => r.lotId === lotId).map(([serial, r]) => [serial, r.result]));
      return { lot: structuredClone(e.lot), runs: structuredClone(e.runs), results: lotResults, lotResult: (e as { lotResult?: unknown }).lotResult, phases: FAKE_PHASES };
    },
    async cell(serial): Promise<CellDetail> {
      const runs = [...lotsById.values()].flatMap((e) => e.runs.map((r) => ({ lot: e.lot, run: r }))).filter((x) => x.run.serial === serial);
      if (runs.length === 0) throw new StationRequestError(404, `no cell with serial ${serial}`);
      const history = runs.map(({ lot, run }) => ({ lotId: lot.id, runId: run.id, kind: lot.kind, finishedAt: run.finishedAt }));
      const r = results.get(serial);
      return { serial, history, results: r ? [{ entry: history.find((h) => h.runId === r.runId)!, result: r.result }] : [] };
    },
    recipes: async () => FAKE_RECIPES,
    // The fake keeps no traces: the chart starts from live values (the real station's history is tested on a real trace).
    channelHistory: async (cyclerId, channel) => {
      throw new StationRequestError(404, `channel ${cyclerId}/${channel}: the fake station keeps no traces`);
    },
    alarms: {
      active: () => alarmManager.active(),
      history: (limit) => alarmManager.history(limit),
      acknowledge: (id, by) => alarmManager.acknowledge(id, by),
      shelve: (id, by, reason, untilIso) => alarmManager.shelve(id, by, reason, untilIso),
    },
    onLotChanged: (fn) => void lotListeners.push(fn),
    onAlarm: (fn) => alarmManager.onChange(fn),
    advance(lotId, phaseIndex, progress) {
      const e = entry(lotId);
      e.lot.phaseIndex = phaseIndex;
      for (const r of e.runs) {
        r.phaseIndex = phaseIndex;
        r.equipmentTimeS = Math.round(progress * 126 * 3600);
        progressByChannel.set(r.channel, { progress, etaS: Math.round((1 - progress) * 126 * 3600) });
      }
      changed(lotId);
    },
    complete(lotId, lotResults, lotResult) {
      const e = entry(lotId);
      const at = now().toISOString();
      e.lot.state = "complete";
      e.lot.finishedAt = at;
      (e as { lotResult?: unknown }).lotResult = lotResult;
      for (const r of e.runs) {
        r.state = "complete";
        r.finishedAt = at;
        progressByChannel.delete(r.channel);
        if (r.serial in lotResults) results.set(r.serial, { lotId, runId: r.id, result: lotResults[r.serial] });
      }
      changed(lotId);
    },
    feed(voltageFor = (ch) => 3.6 + ch / 1000) {
      for (let ch = 1; ch <= opts.channels; ch++) {
        const run = runOn(ch);
        const p = progressByChannel.get(ch);
        const view: ChannelView = {
          key: `${opts.cyclerId}/${ch}`, cyclerId: opts.cyclerId, channel: ch,
          state: run ? (run.state === "held" ? "paused" : "running") : "idle",
          voltageV: voltageFor(ch), currentA: run && run.state === "execute" ? 0.5 : 0, temperatureC: 25.1,
          stepIndex: run ? 2 : 0, stepTimeS: 60, cycle: 1, alarmCode: 0, lastSeq: String(ch * 100),
          serial: run?.serial, runId: run?.id, progress: run ? p?.progress : undefined, etaS: run ? p?.etaS : undefined, updatedAtMs: now().getTime(),
        };
        hub.upsert(view);
      }
    },
  };
  return station;
}
