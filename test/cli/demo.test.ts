/**
 * `npm run demo` end to end, once: a child process runs the demo on station-config/demo.yaml into a temp data
 * folder; the test reads what it printed and what it wrote. Expected serials and the micro-short channel come from
 * the demo config itself, not from the demo's output.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = path.resolve(import.meta.dirname, "../..");
const dataDir = mkdtempSync(path.join(os.tmpdir(), "axviam-demo-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface SimCyclerYaml {
  channels: number;
  population: { kind: string; serialPrefix: string; microShortChannels?: number[] };
}

/** simulators/cell/population.ts names cell n of a cycler <serialPrefix><n, 4 digits> */
const serialsOf = (c: SimCyclerYaml) => Array.from({ length: c.channels }, (_, i) => `${c.population.serialPrefix}${String(i + 1).padStart(4, "0")}`);

function runDemo(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "server/cli/demo.ts", "--data-dir", dataDir], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // The demo must exit on its own; a handle left open would keep it alive until this kill.
    const killer = setTimeout(() => child.kill("SIGKILL"), 230_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const refused = (url: URL) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });

describe("npm run demo", () => {
  it("imprints and grades the simulated cells, certifies, verifies, exports, evaluates the sample logs and exits clean", async () => {
    const config = parse(readFileSync(path.join(ROOT, "station-config/demo.yaml"), "utf8")) as { simulators: { cyclers: SimCyclerYaml[]; chambers: unknown[] } };
    const fresh = config.simulators.cyclers.find((c) => c.population.kind === "new")!;
    const returned = config.simulators.cyclers.find((c) => c.population.kind === "second-life")!;
    const microShortSerial = serialsOf(fresh)[fresh.population.microShortChannels![0] - 1];

    const { code, signal, stdout, stderr } = await runDemo();
    expect(signal, `demo was killed (left running?)\n${stdout}\n${stderr}`).toBeNull();
    expect(code, `${stdout}\n${stderr}`).toBe(0);

    const summary = stdout.slice(stdout.indexOf("DEMO SUMMARY"));
    expect(summary).toContain("SIMULATED DATA");
    const lines = summary.split("\n");
    for (const serial of serialsOf(fresh)) expect(lines.some((l) => l.trimStart().startsWith(`${serial} `) && /\s(A|B|C|reject)\s/.test(l)), serial).toBe(true);
    for (const serial of serialsOf(returned)) expect(summary).toMatch(new RegExp(`${serial}\\s+route: .+`));

    // The micro-short is rejected, and the reasons name the self-discharge screens; no healthy cell exceeds their specification maxima.
    const reasonsOf = (serial: string) => {
      const at = lines.findIndex((l) => l.trimStart().startsWith(`${serial} `));
      const after = lines.slice(at + 1);
      const end = after.findIndex((l) => !l.includes("reason:"));
      return { line: lines[at], reasons: after.slice(0, end === -1 ? after.length : end) };
    };
    const shorted = reasonsOf(microShortSerial);
    expect(shorted.line).toMatch(/\sreject\s/);
    expect(shorted.reasons.some((l) => /kValueMvPerDay .* above the specification maximum/.test(l))).toBe(true);
    expect(shorted.reasons.some((l) => /holdCurrentMicroA .* above the specification maximum/.test(l))).toBe(true);
    // Healthy cells leak µA, far below the specification maxima (a lognormal tail cell may still be a lot outlier).
    for (const serial of serialsOf(fresh).filter((s) => s !== microShortSerial)) {
      expect(reasonsOf(serial).reasons.filter((l) => /(kValue|holdCurrent).* above the specification maximum/.test(l)), serial).toEqual([]);
    }

    expect(summary).toMatch(/verified .*\.pdf .*: authentic, unmodified/);

    // Outputs on disk: evaluation report, lot archives.
    const reportDir = path.join(dataDir, "reports", "bms-evaluation");
    expect(readFileSync(path.join(reportDir, "report.html"), "utf8")).toContain("SIMULATED");
    expect(readFileSync(path.join(reportDir, "summary.pdf")).subarray(0, 5).toString("latin1")).toBe("%PDF-");
    expect(readFileSync(path.join(reportDir, "summary.csv"), "utf8").split("\n")[0]).toContain("vehicle_id");
    const archives = [...summary.matchAll(/\S+\.zip/g)].map((m) => path.resolve(ROOT, m[0]));
    expect(archives).toHaveLength(2);
    for (const a of archives) expect(readFileSync(a).subarray(0, 2).toString("latin1")).toBe("PK");

    // Nothing left listening: the station's HTTP port and every simulator endpoint refuse connections.
    const endpoints = [...stdout.matchAll(/(?:https?|opc\.tcp|modbus):\/\/127\.0\.0\.1:\d+/g)].map((m) => new URL(m[0].replace(/^(opc\.tcp|modbus):/, "http:")));
    expect(endpoints.length).toBe(1 + config.simulators.cyclers.length + config.simulators.chambers.length);
    for (const url of endpoints) expect(await refused(url), url.href).toBe(true);
    expect(existsSync(path.join(dataDir, "station.log"))).toBe(true);
  }, 240_000);
});
