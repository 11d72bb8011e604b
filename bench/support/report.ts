/**
 * What every benchmark hands back: figures with units, each optionally judged against a target. A benchmark run
 * by bench/run.ts (as a child process with an IPC channel) sends its figures to the parent; run on its own
 * (`npx tsx bench/<name>.bench.ts`) it prints them. Benchmarks measure and report; they assert nothing.
 */
import os from "node:os";

export interface Target {
  op: ">=" | "<=";
  value: number;
}

export interface Figure {
  /** benchmark id, e.g. "polling" */
  bench: string;
  /** what was measured, with its conditions: "OPC UA 4096 ch · CPU per channel-hour" */
  metric: string;
  /** null when the figure could not be measured (say why in note) */
  value: number | null;
  unit: string;
  target?: Target;
  note?: string;
}

export interface BenchMessage {
  kind: "figures";
  figures: Figure[];
}

/** true when the target is met; undefined without a target or a value. */
export function targetMet(f: Figure): boolean | undefined {
  if (!f.target || f.value === null || !Number.isFinite(f.value)) return undefined;
  return f.target.op === ">=" ? f.value >= f.target.value : f.value <= f.target.value;
}

/** Sends the figures to bench/run.ts, or prints them when run on its own. */
export function emit(figures: Figure[]): void {
  if (process.send) {
    process.send({ kind: "figures", figures } satisfies BenchMessage);
    return;
  }
  for (const f of figures) {
    const met = targetMet(f);
    const target = f.target ? ` (target ${f.target.op} ${formatValue(f.target.value)} ${f.unit}: ${met === undefined ? "n/a" : met ? "met" : "NOT met"})` : "";
    console.log(`${f.bench} · ${f.metric}: ${f.value === null ? "n/a" : formatValue(f.value)} ${f.unit}${target}${f.note ? ` — ${f.note}` : ""}`);
  }
}

/** Three significant digits, exponent form for large or tiny magnitudes. */
export function formatValue(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return x.toExponential(2);
  if (Number.isInteger(x)) return String(x);
  return Number(x.toPrecision(3)).toString();
}

/** Nearest-rank percentile of unsorted values (p in 0..100); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** `--quick` on the command line or BENCH_QUICK=1 (set by bench/run.ts --quick). */
export function isQuick(): boolean {
  return process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";
}

/** CPU seconds (user + system) this process used since `since` (a process.cpuUsage() reading). */
export function cpuSecondsSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
  /** 1-minute load average when the run started: above the core count, other work shared the machine */
  loadAverage1m: number;
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
    loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100,
  };
}
