/** The CyclerDriver contract over real OPC UA on loopback (ephemeral ports, temp PKI folders). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { createOpcuaCyclerDriver } from "../../server/equipment/opcua/opcua-cycler-driver.ts";
import { startOpcuaCyclerServer } from "../../simulators/opcua/cycler-server.ts";
import { cyclerDriverContract } from "../equipment/cycler-driver.contract.ts";
import { createFakeSimCycler } from "../equipment/fake-sim-cycler.ts";
import { newLot } from "../../simulators/cell/population.ts";
import { createSimCycler } from "../../simulators/cycler/sim-cycler.ts";
import type { SimCyclerApi } from "../../simulators/cycler/sim-cycler-api.ts";

let pki: string;
beforeAll(async () => {
  // one PKI folder per side for the whole file, so certificates are generated once
  pki = await mkdtemp(join(tmpdir(), "axviam-opcua-contract-"));
});
afterAll(async () => {
  await rm(pki, { recursive: true, force: true });
});

async function rig(sim: SimCyclerApi, advanceS: (s: number) => void, watchdogMs: number) {
  const server = await startOpcuaCyclerServer({ cycler: sim, port: 0, pkiDir: join(pki, "server"), pushIntervalMs: 50 });
  const requestTimeoutMs = 800;
  const driver = createOpcuaCyclerDriver({
    endpointUrl: server.endpointUrl,
    equipmentId: "cycler-under-test",
    requestTimeoutMs,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
    pkiDir: join(pki, "client"),
  });
  return {
    driver,
    sim,
    faults: server.faults,
    advanceS: async (s: number) => advanceS(s),
    requestTimeoutMs,
    watchdogMs,
    async teardown() {
      await driver.close();
      await server.stop();
    },
  };
}

cyclerDriverContract("opcua (fake core)", async ({ watchdogMs }) => {
  const sim = createFakeSimCycler({ channelCount: 8, watchdogMs });
  return rig(sim, (s) => sim.advanceS(s), watchdogMs);
});

cyclerDriverContract("opcua (simulated cycler core)", async ({ watchdogMs }) => {
  const cells = newLot({ seed: 5, count: 8, chemistry: "nmc811-graphite", serialPrefix: "OPC" });
  const sim = createSimCycler({ id: "sim-opcua", cells, watchdogMs, startUnixS: 1_800_000_000 });
  return rig(sim, (s) => sim.advance(s), watchdogMs);
});
