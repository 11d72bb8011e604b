/**
 * The register codec against hand-computed register words (independent known answers) and round trips.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readFileSync } from "node:fs";
import { ALARM_CODES, type ChannelLive, type ChannelRecord } from "../../../server/domain/equipment/channel.ts";
import type { Program } from "../../../server/domain/equipment/program.ts";
import type { CyclerInfo } from "../../../server/equipment/cycler-driver.ts";
import {
  RegisterDecodeError,
  RegisterEncodeError,
  crc32,
  decodeInfo,
  decodeLiveBlock,
  decodeProgram,
  decodeRecordSlots,
  decodeRecordWindowHeader,
  encodeInfo,
  encodeLiveBlock,
  encodeProgram,
  encodeRecordWindow,
  planBlockReads,
} from "../../../server/equipment/modbus/register-codec.ts";
import { DEFAULT_MODBUS_CYCLER_MAP_PATH, loadRegisterMap, parseRegisterMap } from "../../../server/equipment/modbus/register-map.ts";

const map = await loadRegisterMap();
const LIVE = 27; // registers per live block, as documented in the map

const live: ChannelLive = {
  channel: 3,
  state: "running",
  voltageV: 3.7,
  currentA: -1.5, // discharge
  temperatureC: -12.34,
  stepCapacityAh: 1.234567,
  stepEnergyWh: 4.567891,
  stepIndex: 5,
  stepTimeS: 12.345,
  testTimeS: 86400 * 60 + 0.001, // beyond 49.7 days: needs the 64-bit field
  cycle: 17,
  lastSeq: 2n ** 60n + 5n, // beyond 2^53: must stay a bigint
  alarmCode: 0,
  programId: "factory-imprint-v3",
};

describe("live block", () => {
  it("encodes scaled, big-endian, two's-complement words (hand-computed)", () => {
    const words = new Uint16Array(LIVE);
    encodeLiveBlock(map, live, words, 0);
    expect(words[0]).toBe(3);
    expect(words[1]).toBe(2); // running
    expect([words[3], words[4]]).toEqual([0x0005, 0xa550]); // 3.7 V × 1e5 = 370000 = 0x0005A550
    expect([words[5], words[6]]).toEqual([0xff1b, 0x1e40]); // −1.5 A × 1e7 = −15000000 = 0xFF1B1E40
    expect(words[7]).toBe(0x10000 - 1234); // −12.34 °C × 100 = −1234
    expect([words[21], words[22], words[23], words[24]]).toEqual([0x1000, 0, 0, 5]); // 2^60 + 5
    const crc = crc32("factory-imprint-v3");
    expect([words[25], words[26]]).toEqual([crc >>> 16, crc & 0xffff]);
  });

  it("round-trips, negative current and 64-bit seq included", () => {
    const words = new Uint16Array(2 * LIVE);
    encodeLiveBlock(map, live, words, LIVE);
    const { live: back, invalid } = decodeLiveBlock(map, words, LIVE, "live");
    expect(invalid).toEqual([]);
    const { programId, ...rest } = live;
    expect(back).toEqual({ ...rest, programIdCrc32: crc32(programId) });
  });

  it("turns a 0x7FFFFFFF voltage into NaN + invalidReading, never a number", () => {
    const words = new Uint16Array(LIVE);
    encodeLiveBlock(map, live, words, 0);
    words[3] = 0x7fff;
    words[4] = 0xffff; // 21474.83647 V
    const { live: back, invalid } = decodeLiveBlock(map, words, 0, "live[2]");
    expect(back.voltageV).toBeNaN();
    expect(back.alarmCode).toBe(ALARM_CODES.invalidReading);
    expect(back.currentA).toBe(-1.5);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatch(/live\[2\]\.voltageV: raw 0x7fffffff = 21474.83647 V is outside the valid range \[-10, 100\] V/);
  });

  it("refuses to encode a value its field cannot hold", () => {
    expect(() => encodeLiveBlock(map, { ...live, currentA: 250 }, new Uint16Array(LIVE), 0)).toThrow(RegisterEncodeError);
    expect(() => encodeLiveBlock(map, { ...live, voltageV: Number.NaN }, new Uint16Array(LIVE), 0)).toThrow(/voltageV/);
  });

  it("plans reads of whole blocks, at most 125 registers each", () => {
    const reads = planBlockReads(map.input.live, 0, 10, 125);
    expect(reads.map((r) => [r.address, r.length])).toEqual([[1000, 108], [1108, 108], [1216, 54]]);
  });
});

describe("CRC-32", () => {
  it("matches the IEEE check value", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("")).toBe(0);
  });
});

describe("identification", () => {
  const info: CyclerInfo = {
    model: "AXVIAM SIM-64",
    serial: "AXS-000123",
    firmware: "1.2.3",
    channelCount: 64,
    limits: { maxVoltageV: 5, minVoltageV: 0, maxCurrentA: 10, maxTemperatureC: 60 },
    simulated: true,
    recordBufferSize: 20000,
    bootId: 4_000_000_000,
  };
  it("round-trips with optional limits absent and present", () => {
    expect(decodeInfo(map, encodeInfo(map, info))).toEqual(info);
    const full = { ...info, limits: { ...info.limits, minTemperatureC: -20, maxCapacityAh: 300 } };
    expect(decodeInfo(map, encodeInfo(map, full))).toEqual(full);
  });
  it("refuses an instrument serving another map version", () => {
    const words = encodeInfo(map, info);
    words[0] = 2;
    expect(() => decodeInfo(map, words)).toThrow(/map version 2/);
  });
});

describe("records", () => {
  const records: ChannelRecord[] = [
    { seq: 2n ** 53n + 1n, unixTimeS: 1_800_000_000.123, testTimeS: 3.5, stepIndex: 1, cycle: 2, voltageV: 3.65432, currentA: -2.5000001, temperatureC: 25.5, chargeAh: 0, dischargeAh: 0.5, chargeWh: 0, dischargeWh: 1.8, flags: 1 },
    { seq: 2n ** 53n + 2n, unixTimeS: 1_800_000_001.123, testTimeS: 4.5, stepIndex: 1, cycle: 2, voltageV: 3.6, currentA: 0.0000001, temperatureC: -5, chargeAh: 0.000001, dischargeAh: 0.5, chargeWh: 0, dischargeWh: 1.8, flags: 2 | 8 },
  ];
  it("round-trips through the window with header echo", () => {
    const words = encodeRecordWindow(map, { channel: 4, afterSeq: 2n ** 53n }, records);
    expect(decodeRecordWindowHeader(map, words)).toEqual({ channel: 4, afterSeq: 2n ** 53n, count: 2 });
    expect(decodeRecordSlots(map, words, 2, 4)).toEqual(records);
  });
  it("throws on an out-of-range slot value instead of returning it", () => {
    const words = encodeRecordWindow(map, { channel: 4, afterSeq: 0n }, records);
    words[8 + 29 + 19] = 0x7fff; // second slot temperature: 327.67 °C > 300
    expect(() => decodeRecordSlots(map, words, 2, 4)).toThrow(RegisterDecodeError);
    expect(() => decodeRecordSlots(map, words, 2, 4)).toThrow(/record slot 1\.temperatureC/);
  });
});

describe("program step table", () => {
  const program: Program = {
    id: "imprint-nmc811-v2",
    steps: [
      { mode: "cccv", currentA: 0.5, voltageV: 4.2, ends: [{ on: "current", op: "<=", value: 0.1, then: "next" }, { on: "time", op: ">=", value: 36000, then: "end" }], log: { everyS: 10, deltaV: 0.005 } },
      { mode: "rest", ends: [{ on: "time", op: ">=", value: 1800, then: "next" }, { on: "dVdt", op: "<=", value: 0.0000005, then: "next" }], log: { everyS: 60 } },
      { mode: "cc", currentA: -1.6667, ends: [{ on: "voltage", op: "<=", value: 2.5, then: { goto: 0, repeat: 3 } }, { on: "temperature", op: ">=", value: 55, then: "end" }, { on: "capacity", op: ">=", value: 5.5, then: { goto: 3 } }], log: { everyS: 1, deltaI: 0.01 } },
      { mode: "pulse", segments: [{ currentA: -1, durationS: 10 }, { currentA: -5, durationS: 1 }, { powerW: -3.5, durationS: 0.01 }], ends: [], log: { everyS: 0.01 } },
      { mode: "cp", powerW: -12.5, ends: [{ on: "energy", op: ">=", value: 10.25, then: "next" }], log: { everyS: 5 } },
      { mode: "cv", voltageV: 3.8, ends: [{ on: "current", op: "<=", value: 0.00005, then: "next" }], log: { everyS: 60 } },
      { mode: "ocv", ends: [{ on: "time", op: ">=", value: 0.5, then: "end" }], log: { everyS: 0.1 } },
    ],
    safety: { maxVoltageV: 4.25, minVoltageV: 2.45, maxCurrentA: 6, maxTemperatureC: 60, minTemperatureC: -10, maxCapacityAh: 5.6 },
  };

  const apply = (writes: ReturnType<typeof encodeProgram>) => {
    const image = new Uint16Array(65536);
    for (const w of writes) image.set(w.values, w.address);
    return image;
  };

  it("writes a header and one ≤ 123-register write per step", () => {
    const writes = encodeProgram(map, program);
    expect(writes.map((w) => w.address)).toEqual([1000, 1100, 1228, 1356, 1484, 1612, 1740, 1868]);
    expect(Math.max(...writes.map((w) => w.values.length))).toBe(123);
  });

  it("round-trips every mode, goto/repeat, pulse segments and optional limits (labels stay on the station)", () => {
    expect(decodeProgram(map, apply(encodeProgram(map, program)))).toEqual(program);
    const minimal: Program = { id: "x", steps: [{ mode: "rest", label: "wait", ends: [{ on: "time", op: ">=", value: 1, then: "end" }], log: { everyS: 1 } }], safety: { maxVoltageV: 4.2, minVoltageV: 2.5, maxCurrentA: 1, maxTemperatureC: 45 } };
    const { label: _label, ...unlabelled } = minimal.steps[0];
    expect(decodeProgram(map, apply(encodeProgram(map, minimal)))).toEqual({ ...minimal, steps: [unlabelled] });
  });

  it("encodes the end threshold with the quantity's scale (hand-computed)", () => {
    const step = encodeProgram(map, program)[3].values; // step 2
    // end 0 at offset 15: quantity voltage (1), op <= (0), value 2.5 V × 1e4 = 25000, then goto (2), goto 0, repeat 3
    expect(step.slice(15, 22)).toEqual([1, 0, 0, 25000, 2, 0, 3]);
  });

  it("names the field when a value cannot be represented", () => {
    const bad = { ...program, id: "naïve" };
    expect(() => encodeProgram(map, bad)).toThrow(/program\.programId: "naïve" is not printable ASCII/);
  });

  it("rejects a corrupted step table with the field path", () => {
    const image = apply(encodeProgram(map, program));
    image[1100 + 128 * 2] = 99; // step 2 mode
    expect(() => decodeProgram(map, image)).toThrow(/programSteps\[2\]\.mode: code 99/);
  });
});

describe("register map validation", () => {
  const raw = () => parse(readFileSync(DEFAULT_MODBUS_CYCLER_MAP_PATH, "utf8"));
  it("names overlapping fields", () => {
    const data = raw();
    data.input.live.fields[4].offset = 4; // currentA onto voltageV's low word
    expect(() => parseRegisterMap(data, "m.yaml")).toThrow(/input\.live\.currentA: register 4 already used by voltageV/);
  });
  it("names a missing field the codec needs", () => {
    const data = raw();
    data.input.live.fields = data.input.live.fields.filter((f: { name: string }) => f.name !== "lastSeq");
    expect(() => parseRegisterMap(data, "m.yaml")).toThrow(/input\.live: missing field lastSeq/);
  });
  it("refuses a step slot that does not fit one write", () => {
    const data = raw();
    data.holding.programSteps.size = 140;
    data.holding.programSteps.groups[1].offset = 50;
    expect(() => parseRegisterMap(data, "m.yaml")).toThrow(/a step uses 130 registers/);
  });
});
