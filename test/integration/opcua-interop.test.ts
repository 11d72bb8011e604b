/**
 * A plain node-opcua client (not our driver) against the simulated cycler's OPC UA front-end: browse, read with
 * engineering units, subscribe (one subscription, one monitored-item group), call a method — what any compliant
 * third-party client does.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AttributeIds, ClientMonitoredItemGroup, DataType, OPCUAClient, StatusCodes, TimestampsToReturn, Variant, VariantArrayType,
  type ClientSession, type ClientSubscription, type DataValue,
} from "node-opcua-client";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_OPCUA_CYCLER_MAP, loadOpcuaCyclerMap } from "../../server/equipment/opcua/opcua-map.ts";
import { startOpcuaCyclerServer, type OpcuaSimServer } from "../../simulators/opcua/cycler-server.ts";
import { createFakeSimCycler, type FakeSimCycler } from "../equipment/fake-sim-cycler.ts";
import { shortProgram } from "../equipment/cycler-driver.contract.ts";

describe("OPC UA interoperability with a plain client", () => {
  let pki: string;
  let sim: FakeSimCycler;
  let server: OpcuaSimServer;
  let certificateManager: OPCUACertificateManager;
  let client: OPCUAClient;
  let session: ClientSession;
  let subscription: ClientSubscription | undefined;
  let ns: number;

  beforeAll(async () => {
    pki = await mkdtemp(join(tmpdir(), "axviam-opcua-interop-"));
    sim = createFakeSimCycler({ channelCount: 4, watchdogMs: 0 });
    server = await startOpcuaCyclerServer({ cycler: sim, pkiDir: join(pki, "server"), pushIntervalMs: 20 });
    certificateManager = new OPCUACertificateManager({ rootFolder: join(pki, "client"), automaticallyAcceptUnknownCertificate: true });
    client = OPCUAClient.create({ endpointMustExist: false, clientCertificateManager: certificateManager, connectionStrategy: { maxRetry: 0 } });
    await client.connect(server.endpointUrl);
    session = await client.createSession();
    const map = await loadOpcuaCyclerMap(DEFAULT_OPCUA_CYCLER_MAP);
    ns = (await session.readNamespaceArray()).indexOf(map.namespaceUri);
  });
  afterAll(async () => {
    await subscription?.terminate();
    await session?.close();
    await client?.disconnect();
    await certificateManager?.dispose();
    await server?.stop();
    await rm(pki, { recursive: true, force: true });
  });

  it("browses Objects → Cycler → Identification and channel objects", async () => {
    const objects = await session.browse("ObjectsFolder");
    expect(objects.references!.map((r) => r.browseName.toString())).toContain(`${ns}:Cycler`);
    const cycler = await session.browse(`ns=${ns};s=Cycler`);
    const names = cycler.references!.map((r) => r.browseName.name);
    expect(names).toEqual(expect.arrayContaining(["Identification", "Channel01", "Channel04", "LiveValues", "LoadProgram", "ReadRecords", "Heartbeat"]));
    expect(names).not.toContain("Channel05");
    const serial = await session.read({ nodeId: `ns=${ns};s=Cycler.Identification.SerialNumber`, attributeId: AttributeIds.Value });
    expect(serial.value.value).toBe(sim.info().serial);
  });

  it("reads a channel voltage with its EUInformation (UNECE code VLT) and EURange", async () => {
    const voltage = `ns=${ns};s=Cycler.Channel02.Voltage`;
    const props = await session.browse(voltage);
    const byName = Object.fromEntries(props.references!.map((r) => [r.browseName.name, r.nodeId.toString()]));
    const [value, eu, range] = await session.read([
      { nodeId: voltage, attributeId: AttributeIds.Value },
      { nodeId: byName.EngineeringUnits, attributeId: AttributeIds.Value },
      { nodeId: byName.EURange, attributeId: AttributeIds.Value },
    ]);
    expect(value.value.value).toBe(sim.live()[1].voltageV);
    // UNECE Rec 20 "VLT" packed as in OPC UA Part 8: ('V' << 16) | ('L' << 8) | 'T'
    expect(eu.value.value.unitId).toBe((0x56 << 16) | (0x4c << 8) | 0x54);
    expect(eu.value.value.displayName.text).toBe("V");
    expect(range.value.value).toMatchObject({ low: sim.info().limits.minVoltageV, high: sim.info().limits.maxVoltageV });
  });

  it("subscribes with one monitored-item group and sees values change", async () => {
    subscription = await session.createSubscription2({ requestedPublishingInterval: 50, requestedMaxKeepAliveCount: 10, publishingEnabled: true });
    const seen = new Map<string, unknown[]>();
    const items = ["Cycler.Channel01.State", "Cycler.Channel01.Current"].map((id) => ({ nodeId: `ns=${ns};s=${id}`, attributeId: AttributeIds.Value }));
    const group = ClientMonitoredItemGroup.create(subscription, items, { samplingInterval: 0, queueSize: 10, discardOldest: true }, TimestampsToReturn.Both);
    group.on("changed", (_item, dv: DataValue, index: number) => {
      const key = items[index].nodeId;
      seen.set(key, [...(seen.get(key) ?? []), dv.value.value]);
    });
    await new Promise<void>((resolve) => group.once("initialized", () => resolve()));
    sim.load(1, shortProgram(sim.info()));
    sim.command(1, "start");
    sim.advanceS(8); // into the charge step
    const current = 0.05 * sim.info().limits.maxCurrentA;
    const until = Date.now() + 5000;
    while (!(seen.get(items[1].nodeId)?.includes(current) && seen.get(items[0].nodeId)?.includes("running")) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen.get(items[0].nodeId)).toEqual(["idle", "running"]);
    expect(seen.get(items[1].nodeId)).toEqual([0, current]);
  });

  it("calls ReadRecords and decodes the Columns/Values table; a bad channel gives a Bad status with a message", async () => {
    const call = (channel: number) =>
      session.call({
        objectId: `ns=${ns};s=Cycler`,
        methodId: `ns=${ns};s=Cycler.ReadRecords`,
        inputArguments: [
          new Variant({ dataType: DataType.UInt32, value: channel }),
          new Variant({ dataType: DataType.UInt64, arrayType: VariantArrayType.Scalar, value: [0, 0] }),
          new Variant({ dataType: DataType.UInt32, value: 3 }),
        ],
      });
    const ok = await call(1);
    expect(ok.statusCode).toBe(StatusCodes.Good);
    const [columns, values] = ok.outputArguments!.map((v) => v.value);
    const expected = sim.records(1, 0n, 3);
    expect(values.length).toBe(columns.length * 3);
    expect(values[columns.indexOf("seq")]).toBe(Number(expected[0].seq));
    expect(values[columns.length + columns.indexOf("voltageV")]).toBe(expected[1].voltageV);
    const bad = await call(9);
    expect(bad.statusCode).toBe(StatusCodes.BadInvalidArgument);
    expect(bad.outputArguments![0].value).toMatch(/channel 9/);
  });
});
