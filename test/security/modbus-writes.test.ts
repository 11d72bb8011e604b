/**
 * Modbus requests outside the map, beyond what test/integration/modbus-cycler.test.ts already covers (0x02 outside
 * the blocks, 0x03 beyond 125/123 registers, refused partial trigger writes, 0x04 for refused commands): functions
 * the instrument does not have must be refused at once with 0x01, not left unanswered; holding addresses that
 * shadow the live input block but belong to no holding block answer 0x02; and none of it changes a channel.
 */
import ModbusSerial from "modbus-serial";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blockExtent, loadRegisterMap } from "../../server/equipment/modbus/register-map.ts";
import { startModbusCyclerServer, type ModbusCyclerServer } from "../../simulators/modbus/cycler-server.ts";
import { createFakeSimCycler, type FakeSimCycler } from "../equipment/fake-sim-cycler.ts";

const map = await loadRegisterMap();
let server: ModbusCyclerServer;
let fake: FakeSimCycler;
let client: InstanceType<typeof ModbusSerial.default>;
const TIMEOUT_MS = 1000;
const code = (p: Promise<unknown>) => p.then(() => "ok", (e: { modbusCode?: number; message?: string }) => e.modbusCode ?? e.message);

beforeEach(async () => {
  fake = createFakeSimCycler({ channelCount: 8, watchdogMs: 0 });
  server = await startModbusCyclerServer({ cycler: fake, port: 0, unitId: 1, map });
  client = new ModbusSerial.default();
  client.setTimeout(TIMEOUT_MS);
  await client.connectTCP("127.0.0.1", { port: server.port });
  client.setID(1);
});
afterEach(async () => {
  await new Promise((r) => client.close(r));
  await server.stop();
});

describe("Modbus requests the instrument does not support", () => {
  it("coil and discrete-input functions are refused at once with 0x01 (illegal function)", async () => {
    const started = Date.now();
    expect(await code(client.readCoils(0, 8))).toBe(0x01);
    expect(await code(client.readDiscreteInputs(0, 8))).toBe(0x01);
    expect(await code(client.writeCoil(10, true))).toBe(0x01); // coil 10 would be the command block's address
    expect(await code(client.writeCoils(0, [true, true]))).toBe(0x01);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS); // answered, not timed out
  });

  it("holding writes at live-block addresses outside every holding block answer 0x02 and change nothing", async () => {
    const live = map.input.live;
    const header = map.holding.programHeader;
    const before = fake.live().map((c) => c.state);
    // just past the program header, inside the live block's numbers; and the last live register of channel 512
    for (const address of [header.base + header.size, live.base + blockExtent(live) - 2]) {
      expect(await code(client.writeRegisters(address, [0xffff, 0xffff])), String(address)).toBe(0x02);
      expect(await code(client.writeRegister(address, 1)), String(address)).toBe(0x02);
    }
    expect(fake.live().map((c) => c.state)).toEqual(before);
    // the live block itself still reads the channel as it was
    expect((await client.readInputRegisters(live.base, live.size)).data).toHaveLength(live.size);
  });
});
