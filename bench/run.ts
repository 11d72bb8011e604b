/**
 * `npm run bench [-- --quick] [-- --only=polling,store]`: runs every benchmark in its own child process (so each
 * one's CPU and memory figures are its own), collects their figures, writes bench/results.json (git-ignored) and
 * bench/results.md (the latest figures with the machine they were measured on), and prints the table.
 * Benchmarks measure and report; they assert nothing. Each child gets a wall-time budget and is killed with its
 * whole process group when it overruns, so no simulator, server or browser outlives the run.
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describeMachine, formatValue, targetMet, type BenchMessage, type Figure, type Machine } from "./support/report.ts";

interface BenchSpec {
  id: string;
  title: string;
  file: string;
  args?: (quick: boolean) => string[];
  /** wall-time budget [s] */
  budgetS: (quick: boolean) => number;
  /** figures from a script that only prints (not written against support/report.ts) */
  parseStdout?: (stdout: string) => Figure[];
}

const HERE = import.meta.dirname;
const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");

/** certificates.bench.ts prints its two results; read them back from its own lines. */
function certificateFigures(stdout: string): Figure[] {
  // tolerant of both print formats: "→ 3.8 /s on one core, 46 KiB each" and "(13.2 /s on one core), 50 KiB each"
  const rate = stdout.match(/([\d.]+) \/s on one core\)?, ([\d.]+) KiB each/);
  const archive = stdout.match(/lot archive: (\d+) cells → ([\d.]+) MiB zip in ([\d.]+) s/);
  const whole = stdout.match(/whole run: (\d+) signed PDFs from process start in ([\d.]+) s CPU \(([\d.]+) \/s from a cold start\)/);
  return [
    {
      bench: "certificates", metric: `signed PDF certificates per CPU-second, ${whole?.[1] ?? "?"} from a fresh process`, value: whole ? Number(whole[3]) : null, unit: "certificates/s",
      target: { op: ">=", value: 20 }, note: whole ? `${whole[2]} s CPU for the whole run (one process, GC threads included), first renders included` : "figure not found in the script's output",
    },
    { bench: "certificates", metric: "signed PDF certificates per CPU-second, warm", value: rate ? Number(rate[1]) : null, unit: "certificates/s", note: rate ? `after 40 warm-up renders; ${rate[2]} KiB per PDF` : "figure not found in the script's output" },
    {
      bench: "certificates", metric: `lot archive size, ${archive?.[1] ?? "?"} cells`, value: archive ? Number(archive[2]) : null, unit: "MiB",
      note: archive ? `zip of signed JSON + passport + PDF per cell, built in ${archive[3]} s` : "figure not found in the script's output",
    },
  ];
}

const BENCHES: BenchSpec[] = [
  { id: "simulator", title: "Simulator speed", file: "simulator.bench.ts", budgetS: (q) => (q ? 120 : 300) },
  { id: "polling", title: "Station polling cost", file: "polling.bench.ts", budgetS: (q) => (q ? 300 : 600) },
  { id: "store", title: "Store write latency", file: "store.bench.ts", budgetS: (q) => (q ? 120 : 300) },
  { id: "trace", title: "Trace append throughput", file: "trace.bench.ts", budgetS: () => 120 },
  { id: "certificates", title: "Certificates", file: "certificates.bench.ts", args: (q) => (q ? ["10", "1000"] : ["960", "1000"]), budgetS: (q) => (q ? 180 : 300), parseStdout: certificateFigures },
  { id: "hmi", title: "HMI live-update latency", file: "hmi.bench.ts", budgetS: (q) => (q ? 420 : 600) },
  { id: "second-life", title: "Second-life equipment time", file: "second-life.bench.ts", budgetS: () => 300 },
  { id: "plant", title: "Plant", file: "plant.bench.ts", budgetS: (q) => (q ? 180 : 300) },
];

interface BenchOutcome {
  id: string;
  title: string;
  wallS: number;
  exit: string;
  figures: Figure[];
}

/** Node-OPCUA's start-up banner about RSA PKCS#1 v1.5 (harmless with security None, DESIGN §15) is noise here. */
const NOISE = /NODE-OPCUA-W27|security-revert=CVE-2023-46809/;

function prefixLines(id: string, chunk: string, sink: NodeJS.WriteStream): void {
  for (const line of chunk.split("\n")) if (line.trim() !== "" && !NOISE.test(line)) sink.write(`[${id}] ${line}\n`);
}

function killGroup(child: ChildProcess): void {
  // The child leads its own process group (detached): this reaches the simulators and browsers it started.
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

async function runBench(spec: BenchSpec): Promise<BenchOutcome> {
  const file = path.join(HERE, spec.file);
  const started = performance.now();
  if (!existsSync(file)) {
    return { id: spec.id, title: spec.title, wallS: 0, exit: "not present", figures: [{ bench: spec.id, metric: spec.title, value: null, unit: "", note: `bench/${spec.file} does not exist (not available)` }] };
  }
  const figures: Figure[] = [];
  let stdout = "";
  let stderrTail = "";
  const child = fork(file, [...(spec.args?.(quick) ?? []), ...(quick ? ["--quick"] : [])], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, BENCH_QUICK: quick ? "1" : "0" },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    detached: true,
  });
  child.on("message", (m: BenchMessage) => {
    if (m?.kind === "figures") figures.push(...m.figures);
  });
  child.stdout!.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
    prefixLines(spec.id, c, process.stdout);
  });
  child.stderr!.setEncoding("utf8").on("data", (c: string) => {
    stderrTail = (stderrTail + c).slice(-2000);
    prefixLines(spec.id, c, process.stderr);
  });
  const budgetMs = spec.budgetS(quick) * 1000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, budgetMs);
  const code = await new Promise<number | string>((resolve) => child.on("exit", (c, signal) => resolve(c ?? signal ?? "?")));
  clearTimeout(timer);
  killGroup(child); // anything the benchmark left behind
  const wallS = (performance.now() - started) / 1000;
  if (spec.parseStdout) figures.push(...spec.parseStdout(stdout));
  if (figures.length === 0 && code === 0) {
    const last = stdout.split("\n").filter((l) => l.trim() !== "" && !NOISE.test(l)).slice(-2).join(" | ");
    figures.push({ bench: spec.id, metric: spec.title, value: null, unit: "", note: `reported no figures${last ? `; printed: ${last}` : ""}` });
  }
  const exit = timedOut ? `killed after the ${budgetMs / 1000} s budget` : code === 0 ? "ok" : `exit ${code}`;
  if (exit !== "ok") {
    const lastError = stderrTail.split("\n").filter((l) => l.trim() !== "" && !NOISE.test(l)).slice(-3).join(" | ");
    figures.push({ bench: spec.id, metric: `${spec.title}: run`, value: null, unit: "", note: `${exit}${lastError ? `: ${lastError}` : ""}` });
  }
  return { id: spec.id, title: spec.title, wallS, exit, figures };
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function markdown(machine: Machine, outcomes: BenchOutcome[]): string {
  const lines = [
    "# Benchmark results (latest run)",
    "",
    `Measured by \`npm run bench${quick ? " -- --quick" : ""}\` on ${machine.date.slice(0, 10)}: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, Node ${machine.node}, ${machine.platform}; 1-min load average ${machine.loadAverage1m} at the start and ${Math.round(os.loadavg()[0] * 100) / 100} at the end${Math.max(machine.loadAverage1m, os.loadavg()[0]) > machine.cores ? " (**other work shared the machine: figures are pessimistic and noisy**)" : ""}.`,
    `Mode: ${quick ? "quick (shorter windows; figures are noisier)" : "full"}. All equipment is simulated. Method and baselines: docs/benchmarks.md.`,
    "",
    "| benchmark | figure | value | unit | target | met | note |",
    "|---|---|---:|---|---|---|---|",
  ];
  for (const o of outcomes) {
    for (const f of o.figures) {
      const met = targetMet(f);
      lines.push(
        `| ${cell(o.id)} | ${cell(f.metric)} | ${f.value === null ? "n/a" : formatValue(f.value)} | ${cell(f.unit)} | ${f.target ? `${f.target.op} ${formatValue(f.target.value)}` : ""} | ${met === undefined ? "" : met ? "met" : "**not met**"} | ${cell(f.note ?? "")} |`,
      );
    }
  }
  if (only) lines.push("", `Benchmarks re-run on ${machine.date.slice(0, 10)} with --only: ${only.join(", ")}; the others are from the previous run on the same machine.`);
  lines.push("", `Wall time per benchmark: ${outcomes.map((o) => `${o.id} ${o.wallS.toFixed(0)} s (${o.exit})`).join(", ")}.`, "");
  return lines.join("\n");
}

const machine = describeMachine();
console.log(`AXVIAM Station benchmarks (${quick ? "quick" : "full"}) — ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`);
const outcomes: BenchOutcome[] = [];
for (const spec of BENCHES.filter((b) => !only || only.includes(b.id))) {
  console.log(`\n== ${spec.title} (${spec.id}) ==`);
  outcomes.push(await runBench(spec));
}
// --only re-runs some benchmarks: keep the other benchmarks' latest figures from results.json (same mode only).
const resultsFile = path.join(HERE, "results.json");
if (only && existsSync(resultsFile)) {
  const previous = JSON.parse(readFileSync(resultsFile, "utf8")) as { quick: boolean; outcomes: BenchOutcome[] };
  if (previous.quick === quick) {
    const fresh = new Map(outcomes.map((o) => [o.id, o]));
    const merged = [...previous.outcomes.map((o) => fresh.get(o.id) ?? o), ...outcomes.filter((o) => !previous.outcomes.some((p) => p.id === o.id))];
    outcomes.splice(0, outcomes.length, ...merged);
    console.log(`merged with the previous results: re-ran ${[...fresh.keys()].join(", ")}`);
  }
}
const md = markdown(machine, outcomes);
writeFileSync(resultsFile, `${JSON.stringify({ machine, quick, outcomes }, null, 2)}\n`);
writeFileSync(path.join(HERE, "results.md"), md);
console.log(`\n${md}`);
console.log("written: bench/results.json, bench/results.md");
