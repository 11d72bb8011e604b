/**
 * HMI live-update latency (`npx tsx bench/hmi.bench.ts [--quick]`): a whole station (embedded simulators over
 * OPC UA, drivers, monitor at the default 1 Hz poll plus the change subscription, socket.io, the built Svelte HMI) with 512 channels and 20
 * browser clients (pages in one headless Chromium). A program start is injected straight into the simulated
 * cycler at a known wall time (half the samples start an idle channel, half stop one of the running ones, whose
 * values stream every poll); a MutationObserver in every page stamps when that channel's tile shows the new state
 * (performance.timeOrigin + performance.now(), the same wall clock on one machine). Latency = DOM − injection:
 * the simulator's push period, the OPC UA subscription, the station, socket.io and the browser. CPU per client: the station process's CPU with 20 pages open minus
 * with none, over equal windows, divided by 20 (the browser's own CPU is not counted).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { SESSION_COOKIE } from "../server/api/api-context.ts";
import type { Program } from "../server/domain/equipment/program.ts";
import { launchBrowser } from "../test/support/browser.ts";
import { startTestStation } from "../test/support/station.ts";
import { cpuSecondsSince, emit, isQuick, percentile, type Figure } from "./support/report.ts";

const quick = isQuick();
const CHANNELS = 512;
const CLIENTS = Number(process.env.BENCH_HMI_CLIENTS ?? 20);
const SAMPLES = quick ? 15 : 50;
const CPU_WINDOW_S = quick ? 5 : 15;
const BACKGROUND_RUNNING = 64;
/** wall budgets: opening clients stops when exceeded (the figures say how many were open), likewise injections */
const OPEN_BUDGET_S = quick ? 90 : 150;
const INJECT_BUDGET_S = quick ? 90 : 150;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!existsSync(path.resolve(import.meta.dirname, "../hmi/dist/index.html"))) {
  emit([{ bench: "hmi", metric: "live-update latency", value: null, unit: "ms", note: "hmi/dist is not built: run `npm run build` first" }]);
  process.exit(0);
}

const station = await startTestStation({ channels: CHANNELS, pollIntervalMs: 1000 });
const browser = await launchBrowser();
try {
  const sim = station.sims!.env.cyclers.get("sim-cycler")!;
  const limits = sim.info().limits;
  const discharge = (id: string): Program => ({ id, steps: [{ mode: "cc", currentA: -1, ends: [{ on: "time", op: ">=", value: 36_000, then: "end" }], log: { everyS: 10 } }], safety: limits });
  for (let ch = 1; ch <= BACKGROUND_RUNNING; ch++) {
    sim.load(ch, discharge("bench-background"));
    sim.command(ch, "start");
  }
  await sleep(3000);

  const cpuWindow = async () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(CPU_WINDOW_S * 1000);
    return cpuSecondsSince(cpu0) / ((performance.now() - t0) / 1000);
  };
  const idleCores = await cpuWindow();

  // one operator; every page gets its own session cookie, as 20 panels logged in separately would
  await station.auth.createUser({ username: "bench", displayName: "Benchmark operator", role: "operator", pin: "482913" });
  await station.auth.changePin("bench", "482913", "739154");
  const pages: Page[] = [];
  const t0 = performance.now();
  for (let i = 0; i < CLIENTS; i++) {
    if (performance.now() - t0 > OPEN_BUDGET_S * 1000) {
      console.log(`opening clients took over ${OPEN_BUDGET_S} s: measuring with ${pages.length} of ${CLIENTS}`);
      break;
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const { token } = await station.auth.login("bench", "739154", "127.0.0.1");
    await page.context().addCookies([{ name: SESSION_COOKIE, value: token, url: station.url }]);
    await page.goto(station.url);
    try {
      await page.waitForSelector(`[data-channel="cycler-1/${CHANNELS}"]`, { state: "attached", timeout: 90_000 });
    } catch {
      console.log(`client ${i + 1} did not show the grid within 90 s: measuring with ${pages.length} clients`);
      await page.close();
      break;
    }
    await page.evaluate(() => {
      const w = window as unknown as { seen: Record<string, number> };
      w.seen = {};
      new MutationObserver((mutations) => {
        const now = performance.timeOrigin + performance.now();
        for (const m of mutations) {
          const el = m.target as Element;
          const key = el.getAttribute?.("data-channel");
          const seenKey = `${key}|${el.getAttribute("data-state")}`;
          if (key && w.seen[seenKey] === undefined) w.seen[seenKey] = now;
        }
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
    });
    pages.push(page);
    console.log(`client ${i + 1}/${CLIENTS} showing ${CHANNELS} channels after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const clientCores = await cpuWindow();

  const clients = pages.length;
  const latenciesMs: number[] = [];
  let missed = 0;
  let injections = 0;
  const injectUntil = performance.now() + INJECT_BUDGET_S * 1000;
  for (let s = 0; s < SAMPLES && performance.now() < injectUntil; s++) {
    injections++;
    // Even samples start an idle channel; odd ones stop a running channel, whose values stream every poll (its
    // state change must not wait behind its regular value updates).
    const starting = s % 2 === 0;
    const ch = starting ? BACKGROUND_RUNNING + 1 + s : 1 + s;
    const key = `cycler-1/${ch}|${starting ? "running" : "finished"}`;
    if (starting) sim.load(ch, discharge(`bench-inject-${s}`));
    const injectedMs = Date.now();
    sim.command(ch, starting ? "start" : "stop");
    // The pages stamp the change themselves; ask them only after a while, so the asking does not load the browser
    // while it is being measured.
    const until = Date.now() + 10_000;
    let seen: (number | undefined)[] = [];
    await sleep(2000);
    while (Date.now() < until) {
      seen = await Promise.all(pages.map((p) => p.evaluate((k) => (window as unknown as { seen: Record<string, number> }).seen[k], key)));
      if (seen.every((x) => x !== undefined)) break;
      await sleep(500);
    }
    for (const t of seen) if (t === undefined) missed++;
    else latenciesMs.push(t - injectedMs);
    const got = seen.filter((t): t is number => t !== undefined).map((t) => t - injectedMs);
    console.log(`sample ${s + 1} (${starting ? "start idle" : "stop running"} channel ${ch}): ${got.length} pages, ${Math.min(...got).toFixed(0)}–${Math.max(...got).toFixed(0)} ms`);
    await sleep(Math.random() * 1000); // sample the poll phase uniformly
  }

  const figures: Figure[] = [
    { bench: "hmi", metric: `live-update latency p50, ${CHANNELS} ch, ${clients} clients`, value: percentile(latenciesMs, 50), unit: "ms", note: `${latenciesMs.length} observations (${injections} injections × ${clients} pages; ${CLIENTS} clients wanted); half start an idle channel, half stop a running one` },
    { bench: "hmi", metric: `live-update latency p99, ${CHANNELS} ch, ${clients} clients`, value: percentile(latenciesMs, 99), unit: "ms", target: { op: "<=", value: 250 }, note: `max ${Math.max(...latenciesMs).toFixed(0)} ms; ${missed} page observations missing after 10 s` },
    { bench: "hmi", metric: "station CPU per connected client", value: (clientCores - idleCores) / Math.max(1, clients), unit: "cores", note: `station process (incl. embedded simulators) ${idleCores.toFixed(3)} cores with no client, ${clientCores.toFixed(3)} with ${clients}; ${BACKGROUND_RUNNING} channels running; browser CPU not counted; a negative value is below this machine's noise` },
  ];
  emit(figures);
} finally {
  await browser.cleanup();
  await station.close();
}
