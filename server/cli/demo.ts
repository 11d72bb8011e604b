/**
 * `npm run demo [-- --keep] [--speed 10000] [--config station-config/demo.yaml] [--data-dir data/demo-<time>]`
 *
 * The whole product in about a minute, on SIMULATED equipment only: starts the station headless with its
 * embedded simulators (station-config/demo.yaml), imprints a small lot of new cells (factory_init, OPC UA cycler)
 * while it grades returned cells (second_life, Modbus cycler) — the two lots run at the same time on their own
 * cyclers and chambers — waits for the certificates, verifies one, exports each lot's archive, runs the BMS-log
 * evaluation on samples/bms-logs and prints what came out and where it is. Every figure printed is computed from
 * the simulated records or the sample logs by the same code the station uses on real equipment.
 *
 * Without --keep the demo stops everything and exits; with --keep the station and its HMI stay up until Ctrl-C.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { ConfigError, loadStationConfig, type LoadedConfig } from "../config/load-config.ts";
import type { LotDetail } from "../station/station-service.ts";
import type { Lot } from "../station/run.types.ts";
import { formatDemoSummary, type DemoOutcome, type LotOutcome } from "./demo-summary.ts";

const SAMPLE_LOGS_DIR = path.resolve(import.meta.dirname, "../../samples/bms-logs");
/** projection horizon of the evaluation [years], as `npm run evaluate` defaults to */
const EVALUATION_YEARS = 8;
/** wall-time limits; generous because the demo shares the machine with whatever else runs */
const CONNECT_TIMEOUT_MS = 60_000;
const LOTS_TIMEOUT_MS = 15 * 60_000;
const CERTIFICATES_TIMEOUT_MS = 120_000;

interface DemoArgs {
  keep: boolean;
  speed?: number;
  config: string;
  dataDir: string;
}

function parseDemoArgs(argv: readonly string[]): DemoArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      keep: { type: "boolean", default: false },
      speed: { type: "string" },
      config: { type: "string", default: "station-config/demo.yaml" },
      "data-dir": { type: "string" },
    },
  });
  const speed = values.speed === undefined ? undefined : Number(values.speed);
  if (speed !== undefined && !(speed >= 1 && speed <= 1_000_000)) throw new Error(`--speed must be a number in [1, 1000000], got "${values.speed}"`);
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");
  return { keep: values.keep!, speed, config: values.config!, dataDir: path.resolve(values["data-dir"] ?? path.join("data", `demo-${stamp}`)) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`demo: timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

const finished = (lot: Lot) => lot.state === "complete" || lot.state === "aborted";

export async function runDemo(args: DemoArgs, loaded: LoadedConfig, out: (line: string) => void): Promise<{ outcome: DemoOutcome; stop: () => Promise<void>; url: string; adminPin?: string }> {
  const wallStartMs = Date.now();
  const cfg = loaded.config;
  await mkdir(args.dataDir, { recursive: true });
  const logFile = path.join(args.dataDir, "station.log");
  // The station logs JSON lines; the terminal gets the demo's own account, the log file everything else.
  const log = pino({ name: "axviam-demo", level: cfg.logging.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: logFile, sync: true }));

  // Heavy modules (OPC UA stack, pdfmake) load only once the config is known to be good.
  const { startStation } = await import("../station/station-app.ts");
  const { runEvaluation } = await import("../evaluation/pipeline.ts");
  const { writeReport } = await import("../evaluation/report/write-report.ts");
  const { loadColumnMaps } = await import("../evaluation/import/column-map.ts");
  const { loadEnvelopeRules } = await import("./evaluate.ts");

  out(`AXVIAM Station demo — SIMULATED equipment (${path.relative(process.cwd(), loaded.file)}), data in ${args.dataDir}`);
  const station = await startStation(loaded, log, { dataDir: args.dataDir, ...(args.speed !== undefined ? { simSpeed: args.speed } : {}) });
  const stop = () => station.stop();
  try {
    const sims = station.sims;
    if (!sims) throw new Error(`${loaded.file}: the demo needs embedded simulators (simulators.enabled: true)`);
    const speed = sims.env.clock.speed;
    const equipmentIds = [...cfg.equipment.cyclers, ...cfg.equipment.chambers].map((e) => e.id);
    await until("every cycler and chamber to connect", CONNECT_TIMEOUT_MS, () => {
      const connected = new Set(station.hub.links().filter((l) => l.status === "connected").map((l) => l.equipmentId));
      return equipmentIds.every((id) => connected.has(id)) ? true : undefined;
    });
    out(`station up at ${station.url}; simulated clock at ${speed}× wall time; SIMULATED instruments connected:`);
    for (const [id, f] of sims.frontEnds) out(`  ${id.padEnd(20)} ${f.endpoint}`);

    // One lot per cycler: its simulated population decides the recipe. The serials are what a barcode scan of the
    // simulated cells would give (the simulator's cell identity, not its hidden ground truth).
    const plans = cfg.equipment.cyclers.map((c) => {
      const simCfg = cfg.simulators.cyclers.find((s) => s.id === c.simulator);
      if (!simCfg) throw new Error(`${loaded.file}: equipment.cyclers ${c.id} must name an embedded simulator for the demo`);
      const sim = sims.env.cyclers.get(simCfg.id)!;
      const kind = simCfg.population.kind;
      return {
        cyclerId: c.id,
        protocol: c.protocol,
        kind,
        recipe: kind === "new" ? "factory_init" : "second_life",
        chemistry: simCfg.population.chemistry,
        microShortChannels: simCfg.population.microShortChannels,
        cells: Array.from({ length: c.channels }, (_, i) => ({ slot: i + 1, serial: sim.cell(i + 1).serial })),
      };
    });
    const lots = await Promise.all(plans.map((p) =>
      station.service.startLot({
        name: `demo ${p.kind === "new" ? "factory imprint" : "second-life grading"} (SIMULATED)`,
        recipe: p.recipe, cyclerId: p.cyclerId, cells: p.cells, nominalCapacityAh: 5, chemistry: p.chemistry, operator: "demo",
      })));
    lots.forEach((l, i) => out(`lot ${l.id}: ${l.recipe.name}@${l.recipe.version} on ${plans[i].cyclerId} (${plans[i].protocol}), ${plans[i].cells.length} cells`));

    // The evaluation needs no equipment: run it while the lots execute.
    const reportDir = path.join(args.dataDir, "reports", "bms-evaluation");
    const evaluation = (async () => {
      const run = await runEvaluation(SAMPLE_LOGS_DIR, { columnMaps: await loadColumnMaps(), envelopeRules: await loadEnvelopeRules(), years: EVALUATION_YEARS });
      const written = await writeReport(run, reportDir, EVALUATION_YEARS);
      return { run, files: written.files };
    })();
    // awaited below; this only keeps an early failure of the lots from also reporting it as unhandled
    evaluation.catch(() => undefined);

    const lastPhase = new Map<string, string>();
    const details = await until("both lots to finish", LOTS_TIMEOUT_MS, async () => {
      const ds = await Promise.all(lots.map((l) => station.service.lot(l.id)));
      for (const d of ds) {
        const phase = finished(d.lot) ? d.lot.state : (d.phases[d.lot.phaseIndex] ?? `phase ${d.lot.phaseIndex}`);
        if (lastPhase.get(d.lot.id) !== phase) {
          lastPhase.set(d.lot.id, phase);
          out(`  ${((Date.now() - wallStartMs) / 1000).toFixed(0).padStart(4)} s wall  ${(sims.env.clock.elapsedS() / 3600).toFixed(1).padStart(6)} h simulated  ${d.lot.recipe.name}: ${phase}`);
        }
      }
      return ds.every((d) => finished(d.lot)) ? ds : undefined;
    }, 500);

    const certificates = await until("the certificate issuer", CERTIFICATES_TIMEOUT_MS, async () => {
      const lists = await Promise.all(details.map((d) => station.certificates.list(d.lot.id)));
      const expected = details.map((d) => d.runs.filter((r) => r.state === "complete" && d.results[r.serial] !== undefined).length);
      return lists.every((l, i) => l.length >= expected[i]) ? lists : undefined;
    }, 500);

    const all = certificates.flat();
    const verified = all.length === 0 ? undefined : await (async () => {
      const entry = all.find((e) => e.kind === "second-life") ?? all[0];
      return { entry, result: await station.certificates.verify(await station.certificates.pdf(entry.id)) };
    })();

    const archives: string[] = [];
    const exportDir = path.join(args.dataDir, "exports");
    await mkdir(exportDir, { recursive: true });
    for (const [i, d] of details.entries()) {
      if (certificates[i].length === 0) continue;
      const file = path.join(exportDir, `lot-${d.lot.id}.zip`);
      await writeFile(file, await station.certificates.exportLot(d.lot.id));
      archives.push(file);
    }

    const { run: evaluationRun, files: reportFiles } = await evaluation;
    const lotOutcomes: LotOutcome[] = details.map((d: LotDetail, i) => ({ detail: d, certificates: certificates[i], microShortChannels: plans[i].microShortChannels }));
    const outcome: DemoOutcome = {
      configFile: loaded.file,
      dataDir: args.dataDir,
      logFile,
      speed,
      simulatedElapsedS: sims.env.clock.elapsedS(),
      simulatedBehindS: sims.env.clock.behindS(),
      lots: lotOutcomes,
      certificatesDir: path.join(args.dataDir, "certificates"),
      tracesDir: path.join(args.dataDir, "traces"),
      verified,
      archives,
      reportDir,
      reportFiles,
      evaluation: evaluationRun,
      wallS: (Date.now() - wallStartMs) / 1000,
    };
    return { outcome, stop, url: station.url, adminPin: station.auth.bootstrap.adminPin };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function main(): Promise<number> {
  let args: DemoArgs;
  let loaded: LoadedConfig;
  try {
    args = parseDemoArgs(process.argv.slice(2));
    loaded = loadStationConfig(args.config);
  } catch (e) {
    process.stderr.write(`demo: ${(e as Error).message}\n`);
    return 2;
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const { outcome, stop, url, adminPin } = await runDemo(args, loaded, out);
  out(formatDemoSummary(outcome));
  const failed = outcome.lots.some((l) => l.detail.lot.state !== "complete") || outcome.verified?.result.authentic !== true;
  if (!args.keep) {
    await stop();
    out("station and simulators stopped.");
    return failed ? 1 : 0;
  }
  const login = adminPin === undefined ? "log in with an existing user" : `log in as "admin" with PIN ${adminPin} (first start of this data folder; you will be asked to change it)`;
  out(`\nHMI of the SIMULATED station left running at ${url} — ${login}. Ctrl-C stops everything.`);
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  await stop();
  out("station and simulators stopped.");
  return failed ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => (process.exitCode = code),
    (e: Error) => {
      process.stderr.write(`demo failed: ${e instanceof ConfigError ? e.message : (e.stack ?? e.message)}\n`);
      process.exitCode = 1;
    },
  );
}
