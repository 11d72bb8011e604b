/**
 * Wires one station together: embedded simulators (when configured), equipment drivers and monitors, the lot
 * runners, the store, and the HTTP/socket.io edge. Start order: equipment → runtime → edge; stop in reverse.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { LoadedConfig } from "../config/load-config.ts";
import { ALARM_CODES, chamberAlarmName, readingOf, type ChannelLive } from "../domain/equipment/channel.ts";
import { parseRecipeYaml, type Recipe } from "../domain/recipes/recipe.compiler.ts";
import type { ChamberDriver } from "../equipment/cycler-driver.ts";
import { createChamberDriver, createCyclerDriver } from "../equipment/registry.ts";
import { startHttpServer, type HttpServerHandle } from "../api/http-server.ts";
import type { Logger } from "../log/logger.ts";
import { openJsonFile } from "../store/json-file.ts";
import { assertSafeId, createStationStore, StoreWriteError, type StoreFs } from "../store/station-store.ts";
import { startSimHost, type SimHost } from "../../simulators/sim-host.ts";
import { createAlarmManager, type AlarmFile } from "./alarms.ts";
import { startCyclerMonitor, type CyclerMonitor } from "./cycler-monitor.ts";
import { createLiveHub, type LiveHub } from "./live-hub.ts";
import { createRunTelemetry, type RunEstimates } from "./run-telemetry.ts";
import { readChannelHistory } from "./channel-history.ts";
import { createDomainAnalysis, createRulesCache, latestImprint } from "./lot-analysis.ts";
import { createCertificateIssuer } from "../certificates/certificate-issuer.ts";
import { certificateRoutes, sessionRoles } from "../api/certificates.routes.ts";
import { LotRunner, type CyclerAccess, type LotAnalysis } from "./lot-runner.ts";
import type { Lot, Run } from "./run.types.ts";
import { StationRequestError, type StationService } from "./station-service.ts";
import type { ClockSpeed } from "../../simulators/clock.ts";
import { createApiRouter } from "../api/api-router.ts";
import { createAuthService, type AuthOptions } from "../auth/auth.service.ts";
import { auditFile, openAuditLog } from "../store/audit-log.ts";
import { plantProxyRoutes } from "../plant/plant-proxy.routes.ts";
import { attachPlantPublisher } from "../plant/publisher.ts";

export interface StationOverrides {
  dataDir?: string;
  httpPort?: number;
  httpHost?: string;
  /** overrides the embedded simulators' clock (tests run fast) */
  simSpeed?: ClockSpeed;
  /** how lots are analysed; default: the domain analyses (imprint, second-life) */
  analysis?: LotAnalysis;
  /** period of the runtime loop [ms]; default the fastest cycler poll interval */
  tickMs?: number;
  /** auth options (tests pass a known first-admin PIN) */
  auth?: AuthOptions;
  /** the data folder's file-write boundary (tests play a full disk or an I/O error) */
  storeFs?: StoreFs;
}

export interface StationHandle {
  url: string;
  port: number;
  service: StationService;
  hub: LiveHub;
  sims?: SimHost;
  monitors: Map<string, CyclerMonitor>;
  auth: import("../auth/auth.service.ts").AuthService;
  certificates: import("../certificates/certificate-issuer.ts").CertificateIssuer;
  stop(): Promise<void>;
}

export async function startStation(loaded: LoadedConfig, log: Logger, o: StationOverrides = {}): Promise<StationHandle> {
  const cfg = loaded.config;
  const dataDir = path.resolve(o.dataDir ?? cfg.station.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const pkiDir = path.join(dataDir, "pki");
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stoppers.reverse()) await s().catch((e: Error) => log.warn({ err: e.message }, "stop step failed"));
  };

  try {
    let sims: SimHost | undefined;
    if (cfg.simulators.enabled) {
      sims = await startSimHost(cfg.simulators, { configDir: loaded.dir, pkiDir, ...(o.simSpeed !== undefined ? { speed: o.simSpeed } : {}) });
      stoppers.push(() => sims!.stop());
      log.info({ endpoints: Object.fromEntries([...sims.frontEnds].map(([id, f]) => [id, f.endpoint])) }, "embedded simulators running (SIMULATED equipment)");
    }
    const endpointOf = (e: { endpoint?: string; simulator?: string }) => e.endpoint ?? sims!.endpoint(e.simulator!);

    const hub = createLiveHub();
    const store = createStationStore(dataDir, o.storeFs ? { fs: o.storeFs } : {});
    stoppers.push(async () => store.close());
    // alarms are written in the background: a full disk must not lose the alarm that says so, nor end the process
    const alarms = createAlarmManager(await openJsonFile<AlarmFile>(path.join(dataDir, "alarms.json"), { alarms: [] }, store.jsonOptions(true)));
    // The data folder stops taking writes (disk full, I/O error): a high alarm until it takes them again; startLot
    // refuses new lots meanwhile, and a lot's next phase does not start until its lot file is written.
    store.health.onChange((failure) => {
      if (failure) {
        log.error({ err: failure.message }, "data folder does not take writes");
        alarms.raise({ source: "station", condition: "store-write", severity: "high", message: `the data folder does not take writes: ${failure.message}; no new lot or phase starts until it does (free disk space or replace the device)` });
      } else {
        log.info("data folder takes writes again");
        alarms.clear("station", "store-write");
      }
    });
    // A link that was up and is lost is an alarm (records wait in the instrument's buffer and are backfilled on
    // reconnect); it returns to normal when the link is back. The first connect at start-up is not an alarm.
    const everConnected = new Set<string>();
    hub.onLink((l) => {
      if (l.status === "connected") {
        everConnected.add(l.equipmentId);
        alarms.clear(l.equipmentId, "link-lost");
      } else if (l.status === "lost" && everConnected.has(l.equipmentId)) {
        alarms.raise({ source: l.equipmentId, condition: "link-lost", severity: "high", message: `${l.kind} ${l.equipmentId}: connection lost${l.reason ? ` (${l.reason})` : ""}; its records are backfilled on reconnect` });
      }
    });
    const runners = new Map<string, LotRunner>();
    const lotListeners: ((lot: Lot, runs: Run[]) => void)[] = [];
    const latestLive = new Map<string, ChannelLive[]>();
    const recipesDir = path.resolve(loaded.dir, cfg.recipesDir);

    const chambers = new Map<string, ChamberDriver>();
    for (const c of cfg.equipment.chambers) {
      const driver = await createChamberDriver(c, { endpoint: endpointOf(c), configDir: loaded.dir, pkiDir });
      chambers.set(c.id, driver);
      driver.on("state", (s) => hub.setLink({ equipmentId: c.id, kind: "chamber", status: s.status, reason: s.reason, simulated: c.simulator !== undefined }));
      driver.connect().then(
        () => hub.setLink({ equipmentId: c.id, kind: "chamber", status: "connected", simulated: c.simulator !== undefined }),
        (e: Error) => log.warn({ chamber: c.id, err: e.message }, "chamber connect failed; the driver keeps retrying"),
      );
      stoppers.push(() => driver.close());
    }
    // Chambers are watched like cyclers: a failure (alarmCode ≠ 0) is an alarm and a degraded link until it clears.
    const chamberWatch = setInterval(() => {
      for (const [id, driver] of chambers) {
        driver.read().then(
          (r) => {
            const simulated = cfg.equipment.chambers.find((c) => c.id === id)?.simulator !== undefined;
            if (r.alarmCode !== 0) {
              alarms.raise({ source: id, condition: "chamber-failure", severity: "high", message: `chamber ${id} reports ${chamberAlarmName(r.alarmCode)} (code ${r.alarmCode}): actual ${r.actualC.toFixed(1)} °C, setpoint ${r.setpointC.toFixed(1)} °C` });
              hub.setLink({ equipmentId: id, kind: "chamber", status: "degraded", reason: `${chamberAlarmName(r.alarmCode)} (code ${r.alarmCode})`, simulated });
            } else {
              alarms.clear(id, "chamber-failure");
              hub.setLink({ equipmentId: id, kind: "chamber", status: "connected", simulated });
            }
          },
          () => undefined, // link problems are reported by the driver's own state events
        );
      }
    }, Math.min(...cfg.equipment.cyclers.map((c) => c.pollIntervalMs), 2000));
    stoppers.push(async () => clearInterval(chamberWatch));

    /** the last finished run of each channel, so a faulted or finished tile keeps its serial */
    const lastRun = new Map<string, { serial: string; runId: string }>();
    const telemetry = createRunTelemetry({
      recipe: (name) => loadRecipe(name),
      traceFile: (lotId, runId) => store.traceFile(lotId, runId),
      limits: (cyclerId) => monitors.get(cyclerId)?.info()?.limits,
    });
    // A lot's runs never change channel: index them once, as every poll annotates every channel.
    const runIndex = new WeakMap<Run[], Map<string, Run>>();
    const runOnChannel = (runs: Run[]) => {
      let index = runIndex.get(runs);
      if (!index) runIndex.set(runs, (index = new Map(runs.map((r) => [`${r.cyclerId}/${r.channel}`, r]))));
      return index;
    };
    /**
     * The run on a channel — the active one (only live lots are kept in `runners`), else the channel's last run —
     * with the run's SOC, ≈ remaining equipment time and progress (server/station/run-telemetry.ts). `live` is the
     * reading being published; without it the monitor's previous bulk reading stands in.
     */
    const annotate = (cyclerId: string, channel: number, live?: ChannelLive): { serial?: string; runId?: string } & RunEstimates => {
      const reading = live ?? readingOf(latestLive.get(cyclerId), channel);
      for (const runner of runners.values()) {
        const run = runOnChannel(runner.runs).get(`${cyclerId}/${channel}`);
        if (run?.state !== "execute" && run?.state !== "held") continue;
        return { serial: run.serial, runId: run.id, ...telemetry.estimate(runner.lot, run, reading) };
      }
      const last = lastRun.get(`${cyclerId}/${channel}`);
      if (last) telemetry.forget(last.runId);
      return last ?? {};
    };
    const monitors = new Map<string, CyclerMonitor>();
    for (const c of cfg.equipment.cyclers) {
      const driver = await createCyclerDriver(c, { endpoint: endpointOf(c), configDir: loaded.dir, pkiDir });
      const m = startCyclerMonitor({ cyclerId: c.id, driver, hub, pollIntervalMs: c.pollIntervalMs, heartbeatIntervalMs: c.heartbeatIntervalMs, log, annotate });
      m.onLive((l) => {
        latestLive.set(c.id, l);
        // a channel that is out of fault has returned to normal (ISA-18.2): its fault alarms clear
        for (const ch of l) {
          const source = `${c.id}/${ch.channel}`;
          if (ch.state !== "fault" && ch.alarmCode === 0) alarms.clearPrefixed(source, "fault-");
          // An impossible reading is never used (the driver passes NaN); the operator is told, and told when it ends.
          if (ch.alarmCode === ALARM_CODES.invalidReading) {
            alarms.raise({ source, condition: "invalid-reading", severity: "medium", message: `cycler ${c.id} channel ${ch.channel} reports values no working instrument can measure; they are not shown or used` });
          } else alarms.clear(source, "invalid-reading");
        }
      });
      monitors.set(c.id, m);
      stoppers.push(() => m.stop());
    }
    const cyclerAccess = new Map<string, CyclerAccess>(
      [...monitors].map(([id, m]) => [id, { driver: m.driver, info: () => m.info(), live: () => latestLive.get(id) }]),
    );

    const loadRecipe = (name: string): Recipe => {
      assertSafeId("recipe", name);
      const file = path.join(recipesDir, `${name}.yaml`);
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch {
        throw new StationRequestError(404, `no recipe "${name}" in ${recipesDir}`);
      }
      return parseRecipeYaml(text, file);
    };
    const chamberOf = (cyclerId: string) => {
      const id = cfg.equipment.cyclers.find((c) => c.id === cyclerId)?.chamber;
      return id === undefined ? undefined : chambers.get(id);
    };
    const rules = createRulesCache(loaded.dir);
    const analysis = o.analysis ?? createDomainAnalysis({ configDir: loaded.dir, store, recipe: loadRecipe, rules });
    const makeRunner = (file: Awaited<ReturnType<typeof store.lot>> & object) => {
      const r = new LotRunner(file, {
        store,
        recipe: loadRecipe(file.lot.recipe.name),
        cyclers: cyclerAccess,
        chamber: file.lot.chamberId === undefined ? undefined : chambers.get(file.lot.chamberId),
        alarms,
        analysis,
        log,
        onChange: (lot, runs) => {
          // A finished lot leaves the set of live runners (nothing ticks or annotates it any more); its runs stay the
          // channels' last runs. Its results and files are on disk.
          if (lot.state === "complete" || lot.state === "aborted") {
            for (const run of runs) lastRun.set(`${run.cyclerId}/${run.channel}`, { serial: run.serial, runId: run.id });
            runners.delete(lot.id);
          }
          lotListeners.forEach((fn) => fn(lot, runs));
        },
      });
      runners.set(file.lot.id, r);
      return r;
    };

    // Restart: every lot that was executing or held resumes from its files.
    for (const lot of await store.listLots()) {
      if (lot.state !== "execute" && lot.state !== "held") continue;
      const file = await store.lot(lot.id);
      if (file) makeRunner(file);
      log.info({ lot: lot.id, phase: lot.phaseIndex, state: lot.state }, "lot re-attached after start");
    }

    const tickMs = o.tickMs ?? Math.min(...cfg.equipment.cyclers.map((c) => c.pollIntervalMs));
    // Each lot ticks on its own (a runner skips a tick while its previous one still runs), so a slow cycler
    // or a long analysis in one lot never holds up the others.
    const loop = setInterval(() => {
      for (const r of runners.values()) if (r.lot.state === "execute") void r.tick();
    }, tickMs);
    stoppers.push(async () => {
      clearInterval(loop);
      while ([...runners.values()].some((r) => r.busy)) await new Promise((r) => setTimeout(r, 20));
    });

    const runnerOf = (lotId: string) => {
      const r = runners.get(lotId);
      if (!r) throw new StationRequestError(404, `no active lot ${lotId}`);
      return r;
    };

    const service: StationService = {
      async startLot(req) {
        const writeFailure = store.health.retry();
        if (writeFailure) throw new StationRequestError(503, `no new lot while the data folder does not take writes: ${writeFailure.message}`);
        const recipe = loadRecipe(req.recipe);
        const monitor = monitors.get(req.cyclerId);
        if (!monitor) throw new StationRequestError(404, `no cycler ${req.cyclerId}`);
        const info = monitor.info();
        if (!info) throw new StationRequestError(503, `cycler ${req.cyclerId} is not connected`);
        if (req.cells.length === 0) throw new StationRequestError(400, "a lot needs at least one cell");
        const channels = req.cells.map((c) => c.channel ?? c.slot);
        const busy = new Set([...runners.values()].flatMap((r) => r.runs.filter((x) => x.state === "execute" || x.state === "held").map((x) => `${x.cyclerId}/${x.channel}`)));
        channels.forEach((ch, i) => {
          if (ch < 1 || ch > info.channelCount) throw new StationRequestError(400, `cells[${i}]: channel ${ch} does not exist on ${req.cyclerId} (1..${info.channelCount})`);
          if (busy.has(`${req.cyclerId}/${ch}`)) throw new StationRequestError(409, `cells[${i}]: channel ${ch} of ${req.cyclerId} is running another lot`);
        });
        if (new Set(channels).size !== channels.length) throw new StationRequestError(400, "two cells map to the same channel");
        if (new Set(req.cells.map((c) => c.serial)).size !== req.cells.length) throw new StationRequestError(400, "a serial appears twice in the lot");
        req.cells.forEach((c, i) => {
          try {
            assertSafeId(`cells[${i}].serial`, c.serial);
          } catch (e) {
            throw new StationRequestError(400, (e as Error).message);
          }
        });
        const chamberId = cfg.equipment.cyclers.find((c) => c.id === req.cyclerId)?.chamber;
        if (recipe.phases.some((p) => p.chamber) && !chamberOf(req.cyclerId)) {
          throw new StationRequestError(400, `recipe ${recipe.name} sets chamber temperatures, but cycler ${req.cyclerId} has no chamber configured`);
        }
        const now = new Date().toISOString();
        const lotId = `${now.slice(0, 10).replaceAll("-", "")}-${randomUUID().slice(0, 8)}`;
        const lot: Lot = {
          id: lotId, name: req.name, kind: recipe.kind, recipe: { name: recipe.name, version: recipe.version }, operator: req.operator,
          state: "execute", phaseIndex: 0, phaseState: "starting", chemistry: req.chemistry, nominalCapacityAh: req.nominalCapacityAh,
          simulated: info.simulated, createdAt: now, ...(req.tray ? { tray: req.tray } : {}), ...(chamberId ? { chamberId } : {}),
        };
        const runs: Run[] = req.cells.map((c, i) => ({
          id: `${lotId}-s${String(c.slot).padStart(3, "0")}`, lotId, serial: c.serial, slot: c.slot, cyclerId: req.cyclerId, channel: channels[i],
          state: "execute", phaseIndex: 0, startedAt: now, equipmentTimeS: 0,
        }));
        await store.createLot({ lot, runs }).catch((e: unknown) => {
          throw e instanceof StoreWriteError ? new StationRequestError(503, `lot not started, the data folder does not take writes: ${e.message}`) : e;
        });
        makeRunner((await store.lot(lotId))!);
        log.info({ lot: lotId, recipe: `${recipe.name}@${recipe.version}`, cells: runs.length, operator: req.operator }, "lot started");
        lotListeners.forEach((fn) => fn(lot, runs));
        return lot;
      },
      async pauseLot(lotId) {
        const r = runnerOf(lotId);
        await r.pause();
        return r.lot;
      },
      async resumeLot(lotId) {
        const r = runnerOf(lotId);
        await r.resume();
        return r.lot;
      },
      async abortLot(lotId, by, reason) {
        const r = runnerOf(lotId);
        await r.abort(`aborted by ${by}: ${reason}`);
        return r.lot;
      },
      listLots: () => store.listLots(),
      async lot(lotId) {
        const file = await store.lot(assertSafeIdOr404(lotId));
        if (!file) throw new StationRequestError(404, `no lot ${lotId}`);
        const results = await store.results(lotId);
        let phases: string[] = [];
        try {
          phases = loadRecipe(file.lot.recipe.name).phases.map((p) => p.name);
        } catch {
          phases = [];
        }
        return { lot: file.lot, runs: file.runs, results: results.cells, lotResult: results.lot, phases };
      },
      async cell(serial) {
        const history = await store.lookupSerial(serial);
        const results = [];
        for (const entry of [...history].reverse()) results.push({ entry, result: (await store.results(entry.lotId)).cells[serial] });
        if (history.length === 0) throw new StationRequestError(404, `no results for serial ${serial}`);
        return { serial, history, results };
      },
      async channelHistory(cyclerId, channel, query) {
        const key = `${cyclerId}/${channel}`;
        const { runId, serial } = annotate(cyclerId, channel);
        if (runId === undefined || serial === undefined) throw new StationRequestError(404, `channel ${key} has had no run`);
        // run ids are `${lotId}-s<slot>` (startLot above)
        return readChannelHistory(store.traceFile(runId.replace(/-s\d+$/, ""), runId), { key, runId, serial }, query);
      },
      async recipes() {
        return readdirSync(recipesDir)
          .filter((f) => f.endsWith(".yaml"))
          .flatMap((f) => {
            try {
              const r = loadRecipe(f.slice(0, -5));
              return [{ name: r.name, version: r.version, kind: r.kind, description: r.description ?? "" }];
            } catch (e) {
              log.warn({ file: f, err: (e as Error).message }, "recipe skipped: invalid");
              return [];
            }
          });
      },
      alarms: {
        active: () => alarms.active(),
        history: (limit) => alarms.history(limit),
        acknowledge: (id, by) => alarms.acknowledge(id, by),
        shelve: (id, by, reason, until) => alarms.shelve(id, by, reason, until),
      },
      onLotChanged: (fn) => void lotListeners.push(fn),
      onAlarm: (fn) => alarms.onChange(fn),
    };

    if (cfg.plant.enabled) {
      const plant = await attachPlantPublisher({ service, hub, config: cfg.plant, stationId: cfg.station.id, stationName: cfg.station.name, simulated: cfg.simulators.enabled, dataDir, configDir: loaded.dir, log });
      stoppers.push(() => plant.stop());
    }

    // Certificates: issued automatically when a lot's grades are final (idempotent, so also re-run at start).
    const certificates = await createCertificateIssuer({
      dataDir, stationId: cfg.station.id, stationName: cfg.station.name, log,
      gradingRules: (_lot, r) => { try { return rules.grading(r.name); } catch { return undefined; } },
      findImprint: (serial) => latestImprint(store, serial),
    });
    const issueFor = (lotId: string) =>
      service.lot(lotId).then((d) => certificates.issueForLot(d)).catch((e: Error) => log.error({ lot: lotId, err: e.message }, "certificates failed"));
    service.onLotChanged((lot) => { if (lot.state === "complete") void issueFor(lot.id); });
    for (const lot of await store.listLots()) if (lot.state === "complete") void issueFor(lot.id);

    const auth = await createAuthService(dataDir, o.auth);
    if (auth.bootstrap.adminCreated) {
      log.warn({ user: "admin", pin: auth.bootstrap.adminPin }, `first start: log in as "admin" with PIN ${auth.bootstrap.adminPin}; you must change it at first login`);
    }
    const audit = openAuditLog(auditFile(dataDir));
    const api = createApiRouter({ station: service, auth, audit, recipesDir, gradingRulesDir: path.join(loaded.dir, "grading"), log });
    const plantRoutes = plantProxyRoutes({ config: cfg.plant.service, requireRole: sessionRoles(auth), configDir: loaded.dir, log });

    const http: HttpServerHandle = await startHttpServer({
      host: o.httpHost ?? cfg.http.host,
      port: o.httpPort ?? cfg.http.port,
      hmiDir: path.resolve(import.meta.dirname, "../../hmi/dist"),
      hub,
      log,
      snapshotMeta: () => ({ stationId: cfg.station.id, stationName: cfg.station.name, simulated: cfg.simulators.enabled }),
      // certificate routes first: verify and public-key are public, the API router authenticates everything after it
      routes: (app) => {
        app.use(certificateRoutes({ issuer: certificates, requireRole: sessionRoles(auth) }));
        app.use(plantRoutes);
        api.mount(app);
      },
      socket: api.attachSocket,
    });
    stoppers.push(() => http.close());

    return { url: http.url, port: http.port, service, hub, sims, monitors, auth, certificates, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function assertSafeIdOr404(id: string): string {
  try {
    return assertSafeId("lot id", id);
  } catch (e) {
    throw new StationRequestError(404, (e as Error).message);
  }
}
