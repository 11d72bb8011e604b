/** The CyclerDriver contract over real OPC UA on loopback (ephemeral ports, temp PKI folders). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { createOpcuaCyclerDriver } from "../../server/equipment/opcua/opcua-cycler-driver.ts";
import { startOpcuaCyclerServer } from "../../simulators/opcua/cycler-server.ts";
import { cyclerDriverContract } from "../equipment/cycler-driver.contract.ts";
import { createFakeSimCycler } from "../equipment/fake-sim-cycler.ts";

let pki: string;
beforeAll(async () => {
  // one PKI folder per side for the whole file, so certificates are generated once
  pki = await mkdtemp(join(tmpdir(), "axviam-opcua-contract-"));
});
afterAll(async () => {
  await rm(pki, { recursive: true, force: true });
});

cyclerDriverContract("opcua", async ({ watchdogMs }) => {
  const sim = createFakeSimCycler({ channelCount: 8, watchdogMs });
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
    advanceS: async (s) => sim.advanceS(s),
    requestTimeoutMs,
    watchdogMs,
    async teardown() {
      await driver.close();
      await server.stop();
    },
  };
});
