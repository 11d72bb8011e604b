/** Parent side of bench/support/sim-server.ts: forks the simulators into their own process and talks to it. */
import { fork } from "node:child_process";
import path from "node:path";
import type { SimServerMessage, SimServerSpec } from "./sim-server.ts";

export interface SimProcess {
  endpoints: string[];
  /** stops the simulated clock; returns every channel's lastSeq (per cycler, per channel) and the process's CPU use */
  freeze(): Promise<{ lastSeqs: number[][]; cpuS: number; wallS: number }>;
  stop(): Promise<void>;
}

export async function startSimProcess(spec: SimServerSpec, startTimeoutMs = 120_000): Promise<SimProcess> {
  const child = fork(path.join(import.meta.dirname, "sim-server.ts"), [JSON.stringify(spec)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "pipe", "ipc"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr = (stderr + c).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const next = <K extends SimServerMessage["kind"]>(kind: K, timeoutMs: number) =>
    new Promise<Extract<SimServerMessage, { kind: K }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`simulator process: no "${kind}" within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
      const onMessage = (m: SimServerMessage) => {
        if (m.kind !== kind) return;
        clearTimeout(timer);
        child.off("message", onMessage);
        resolve(m as Extract<SimServerMessage, { kind: K }>);
      };
      child.on("message", onMessage);
      child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`simulator process exited (${code}) before "${kind}"\n${stderr}`))));
    });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      if (child.connected) child.send({ kind: "stop" });
      const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(killer);
    }
  };
  try {
    const ready = await next("ready", startTimeoutMs);
    return {
      endpoints: ready.endpoints,
      async freeze() {
        const frozen = next("frozen", 30_000);
        child.send({ kind: "freeze" });
        const { lastSeqs, cpuS, wallS } = await frozen;
        return { lastSeqs, cpuS, wallS };
      },
      stop,
    };
  } catch (e) {
    child.kill("SIGKILL");
    await exited;
    throw e;
  }
}
