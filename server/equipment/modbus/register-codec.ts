/**
 * Pure conversions between Modbus register words and the station's types, driven by a RegisterMap.
 * One codec for both sides: the simulator encodes what the driver decodes, so the two cannot drift apart.
 * Decoding never turns a raw value outside its field's valid range (sentinels such as 0x7FFFFFFF, impossible
 * voltages) into a number: it throws RegisterDecodeError naming the field.
 */
import { ALARM_CODES, type ChannelCommand, type ChannelLive, type ChannelRecord, type ChannelState } from "../../domain/equipment/channel.ts";
import { describeIssues, programSchema, type End, type Program, type Step } from "../../domain/equipment/program.ts";
import type { CyclerInfo } from "../cycler-driver.ts";
import { blockUsedSize, field, group, type RegisterBlock, type RegisterField, type RegisterMap } from "./register-map.ts";

export class RegisterDecodeError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = "RegisterDecodeError";
  }
}

export class RegisterEncodeError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = "RegisterEncodeError";
  }
}

type Words = ArrayLike<number>;
type MutableWords = { [i: number]: number; readonly length: number };

const INT_LAYOUT: Record<string, { width: number; signed: boolean }> = {
  u16: { width: 1, signed: false },
  enum: { width: 1, signed: false },
  bool: { width: 1, signed: false },
  i16: { width: 1, signed: true },
  u32: { width: 2, signed: false },
  i32: { width: 2, signed: true },
  u64: { width: 4, signed: false },
};

interface Layout {
  width: number;
  signed: boolean;
  /** 2^(16·width) */
  modulus: number;
  lo: bigint;
  hi: bigint;
}

/**
 * Layouts per field, worked out once: the codec runs for every block of every poll (4096 channels at 1 Hz), and
 * rebuilding them (with BigInt bounds) on each access cost more than the transfer itself. Maps are not mutated.
 */
const layouts = new WeakMap<RegisterField, Layout>();

function layout(f: RegisterField, path: string): Layout {
  const known = layouts.get(f);
  if (known) return known;
  const l = INT_LAYOUT[f.type];
  if (!l) throw new RegisterEncodeError(path, `field type ${f.type} is not an integer`);
  const bits = BigInt(16 * l.width);
  const made: Layout = l.signed
    ? { ...l, modulus: 2 ** (16 * l.width), lo: -(1n << (bits - 1n)), hi: (1n << (bits - 1n)) - 1n }
    : { ...l, modulus: 2 ** (16 * l.width), lo: 0n, hi: (1n << bits) - 1n };
  layouts.set(f, made);
  return made;
}

function missing(path: string, i: number): RegisterDecodeError {
  return new RegisterDecodeError(path, `register ${i} missing from the reply`);
}

/** Big-endian words, high word first; two's complement for signed types. */
function readRaw(words: Words, at: number, f: RegisterField, path: string): bigint {
  const { width, signed } = layout(f, path);
  let raw = 0n;
  for (let i = 0; i < width; i++) {
    const w = words[at + f.offset + i];
    if (w === undefined) throw missing(path, at + f.offset + i);
    raw = (raw << 16n) | BigInt(w & 0xffff);
  }
  const bits = BigInt(16 * width);
  return signed && raw >= 1n << (bits - 1n) ? raw - (1n << bits) : raw;
}

/** readRaw for fields of up to 32 bits, in plain numbers (exact below 2^53); the error path is `${block}.${name}`. */
function readSmall(words: Words, at: number, f: RegisterField, l: Layout, block: string): number {
  let raw = 0;
  for (let i = 0; i < l.width; i++) {
    const w = words[at + f.offset + i];
    if (w === undefined) throw missing(`${block}.${f.name}`, at + f.offset + i);
    raw = raw * 0x10000 + (w & 0xffff);
  }
  return l.signed && raw >= l.modulus / 2 ? raw - l.modulus : raw;
}

function writeRaw(words: MutableWords, at: number, f: RegisterField, raw: bigint, path: string): void {
  const { width, lo, hi } = layout(f, path);
  if (raw < lo || raw > hi) throw new RegisterEncodeError(path, `raw value ${raw} does not fit ${f.type}`);
  let u = raw < 0n ? raw + (1n << BigInt(16 * width)) : raw;
  for (let i = width - 1; i >= 0; i--) {
    words[at + f.offset + i] = Number(u & 0xffffn);
    u >>= 16n;
  }
}

/** writeRaw of an integer-valued number: plain arithmetic up to 32 bits, BigInt beyond. */
function writeInt(words: MutableWords, at: number, f: RegisterField, raw: number, path: string): void {
  const l = layout(f, path);
  if (l.width > 2) return writeRaw(words, at, f, BigInt(raw), path);
  if (raw < Number(l.lo) || raw > Number(l.hi)) throw new RegisterEncodeError(path, `raw value ${raw} does not fit ${f.type}`);
  let u = raw < 0 ? raw + l.modulus : raw;
  for (let i = l.width - 1; i >= 0; i--) {
    words[at + f.offset + i] = u % 0x10000;
    u = Math.floor(u / 0x10000);
  }
}

function rangeText(f: RegisterField, unit: string): string {
  return `[${f.min ?? "-inf"}, ${f.max ?? "+inf"}] ${unit}`;
}

/**
 * Read fields of one block instance (or group slot) starting at word index `at`. A class, not a closure bundle:
 * one is made per block of every poll, and under tsx each named closure also costs a defineProperty.
 */
class FieldReader {
  constructor(
    private readonly words: Words,
    private readonly at: number,
    private readonly fields: readonly RegisterField[],
    private readonly path: string,
  ) {}

  private p(n: string): string {
    return `${this.path}.${n}`;
  }

  opt(n: string, scale?: number): number | undefined {
    const f = field(this.fields, n);
    const l = layout(f, n);
    let raw: number;
    if (l.width > 2) {
      const big = readRaw(this.words, this.at, f, this.p(n));
      if (f.absentRaw !== undefined && big === BigInt(f.absentRaw)) return undefined;
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new RegisterDecodeError(this.p(n), `raw value ${big} exceeds 2^53`);
      raw = Number(big);
    } else {
      raw = readSmall(this.words, this.at, f, l, this.path);
      if (raw === f.absentRaw) return undefined;
    }
    const value = raw / (scale ?? f.scale ?? 1);
    if ((f.min !== undefined && value < f.min) || (f.max !== undefined && value > f.max)) {
      throw new RegisterDecodeError(this.p(n), `raw 0x${(raw < 0 ? raw + l.modulus : raw).toString(16)} = ${value} ${f.unit} is outside the valid range ${rangeText(f, f.unit)}`);
    }
    return value;
  }

  num(n: string, scale?: number): number {
    const v = this.opt(n, scale);
    if (v === undefined) throw new RegisterDecodeError(this.p(n), "required value is marked as not set");
    return v;
  }

  big(n: string): bigint {
    return readRaw(this.words, this.at, field(this.fields, n), this.p(n));
  }

  str(n: string): string {
    const f = field(this.fields, n);
    let s = "";
    for (let i = 0; i < (f.registers ?? 0); i++) {
      const w = this.words[this.at + f.offset + i];
      if (w === undefined) throw missing(this.p(n), this.at + f.offset + i);
      for (const byte of [w >> 8, w & 0xff]) {
        if (byte === 0) return s;
        if (byte < 0x20 || byte > 0x7e) throw new RegisterDecodeError(this.p(n), `byte 0x${byte.toString(16)} is not printable ASCII`);
        s += String.fromCharCode(byte);
      }
    }
    return s;
  }

  /** a 1-register code (enum, bool) */
  private code(f: RegisterField, n: string): number {
    return readSmall(this.words, this.at, f, layout(f, n), this.path);
  }

  enumName<T extends string>(n: string): T {
    const f = field(this.fields, n);
    const raw = this.code(f, n);
    const hit = f.values?.[raw];
    if (hit === undefined) throw new RegisterDecodeError(this.p(n), `code ${raw} is not one of ${f.values?.map((v, i) => `${i}=${v}`).join(", ")}`);
    return hit as T;
  }

  bool(n: string): boolean {
    const raw = this.code(field(this.fields, n), n);
    if (raw !== 0 && raw !== 1) throw new RegisterDecodeError(this.p(n), `raw ${raw} is not 0 or 1`);
    return raw === 1;
  }
}

export function reader(words: Words, at: number, fields: readonly RegisterField[], path: string): FieldReader {
  return new FieldReader(words, at, fields, path);
}

/** Write fields of one block instance (or group slot) starting at word index `at` (a class for the reason FieldReader is). */
class FieldWriter {
  constructor(
    private readonly words: MutableWords,
    private readonly at: number,
    private readonly fields: readonly RegisterField[],
    private readonly path: string,
  ) {}

  private p(n: string): string {
    return `${this.path}.${n}`;
  }

  opt(n: string, value: number | undefined, scale?: number): void {
    const f = field(this.fields, n);
    if (value === undefined) {
      if (f.absentRaw === undefined) throw new RegisterEncodeError(this.p(n), "a value is required");
      writeInt(this.words, this.at, f, f.absentRaw, this.p(n));
      return;
    }
    if (!Number.isFinite(value)) throw new RegisterEncodeError(this.p(n), `${value} is not a finite number`);
    if ((f.min !== undefined && value < f.min) || (f.max !== undefined && value > f.max)) {
      throw new RegisterEncodeError(this.p(n), `${value} ${f.unit} is outside ${rangeText(f, f.unit)}`);
    }
    const raw = Math.round(value * (scale ?? f.scale ?? 1));
    if (raw === f.absentRaw) throw new RegisterEncodeError(this.p(n), `${value} encodes to the "not set" code`);
    writeInt(this.words, this.at, f, raw, this.p(n));
  }

  num(n: string, value: number, scale?: number): void {
    this.opt(n, value, scale);
  }

  big(n: string, value: bigint): void {
    writeRaw(this.words, this.at, field(this.fields, n), value, this.p(n));
  }

  /** Raw bits, unchecked against the valid range: only the simulator's corrupted-value fault uses this. */
  raw(n: string, value: bigint): void {
    writeRaw(this.words, this.at, field(this.fields, n), value, this.p(n));
  }

  str(n: string, value: string): void {
    const f = field(this.fields, n);
    const capacity = 2 * (f.registers ?? 0);
    if (value.length > capacity) throw new RegisterEncodeError(this.p(n), `"${value}" is longer than ${capacity} characters`);
    if (!/^[\x20-\x7e]*$/.test(value)) throw new RegisterEncodeError(this.p(n), `"${value}" is not printable ASCII`);
    for (let i = 0; i < (f.registers ?? 0); i++) {
      this.words[this.at + f.offset + i] = ((value.charCodeAt(2 * i) || 0) << 8) | (value.charCodeAt(2 * i + 1) || 0);
    }
  }

  enumName(n: string, value: string): void {
    const f = field(this.fields, n);
    const code = f.values?.indexOf(value) ?? -1;
    if (code < 0) throw new RegisterEncodeError(this.p(n), `"${value}" is not one of ${f.values?.join(", ")}`);
    writeInt(this.words, this.at, f, code, this.p(n));
  }

  bool(n: string, value: boolean): void {
    writeInt(this.words, this.at, field(this.fields, n), value ? 1 : 0, this.p(n));
  }
}

export function writer(words: MutableWords, at: number, fields: readonly RegisterField[], path: string): FieldWriter {
  return new FieldWriter(words, at, fields, path);
}

/** Printable-ASCII form of a free text (reasons, messages), so it fits an ascii field instead of failing. */
export function toAsciiText(text: string, maxChars: number): string {
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, maxChars);
}

const utf8 = new TextEncoder();
/** The few program ids in use, each served in every live block of every poll; cleared if ever it grows large. */
const crcCache = new Map<string, number>();

/** CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) of a string's UTF-8 bytes; 0 for the empty string. */
export function crc32(text: string): number {
  if (text === "") return 0;
  const known = crcCache.get(text);
  if (known !== undefined) return known;
  let crc = 0xffffffff;
  for (const byte of utf8.encode(text)) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  if (crcCache.size >= 4096) crcCache.clear();
  crcCache.set(text, (crc ^ 0xffffffff) >>> 0);
  return (crc ^ 0xffffffff) >>> 0;
}

function withOptional<T extends object, K extends string, V>(obj: T, key: K, value: V | undefined): T & Partial<Record<K, V>> {
  return value === undefined ? obj : { ...obj, [key]: value };
}

// ---- identification -------------------------------------------------------------------------------------

export function encodeInfo(map: RegisterMap, info: CyclerInfo): Uint16Array {
  const b = map.input.identification;
  const words = new Uint16Array(b.size);
  const w = writer(words, 0, b.fields, "identification");
  w.num("mapVersion", map.mapVersion);
  w.str("model", toAsciiText(info.model, 2 * (field(b.fields, "model").registers ?? 0)));
  w.str("serial", toAsciiText(info.serial, 2 * (field(b.fields, "serial").registers ?? 0)));
  w.str("firmware", toAsciiText(info.firmware, 2 * (field(b.fields, "firmware").registers ?? 0)));
  w.num("channelCount", info.channelCount);
  w.num("bootId", info.bootId);
  w.bool("simulated", info.simulated);
  w.num("recordBufferSize", info.recordBufferSize);
  w.num("maxVoltageV", info.limits.maxVoltageV);
  w.num("minVoltageV", info.limits.minVoltageV);
  w.num("maxCurrentA", info.limits.maxCurrentA);
  w.num("maxTemperatureC", info.limits.maxTemperatureC);
  w.opt("minTemperatureC", info.limits.minTemperatureC);
  w.opt("maxCapacityAh", info.limits.maxCapacityAh);
  return words;
}

export function decodeInfo(map: RegisterMap, words: Words): CyclerInfo {
  const r = reader(words, 0, map.input.identification.fields, "identification");
  const version = r.num("mapVersion");
  if (version !== map.mapVersion) throw new RegisterDecodeError("identification.mapVersion", `instrument serves map version ${version}, this map is version ${map.mapVersion}`);
  let limits: CyclerInfo["limits"] = {
    maxVoltageV: r.num("maxVoltageV"),
    minVoltageV: r.num("minVoltageV"),
    maxCurrentA: r.num("maxCurrentA"),
    maxTemperatureC: r.num("maxTemperatureC"),
  };
  limits = withOptional(limits, "minTemperatureC", r.opt("minTemperatureC"));
  limits = withOptional(limits, "maxCapacityAh", r.opt("maxCapacityAh"));
  return {
    model: r.str("model"),
    serial: r.str("serial"),
    firmware: r.str("firmware"),
    channelCount: r.num("channelCount"),
    limits,
    simulated: r.bool("simulated"),
    recordBufferSize: r.num("recordBufferSize"),
    bootId: r.num("bootId"),
  };
}

// ---- live values ---------------------------------------------------------------------------------------

/** A live block as served: the program is identified by the CRC-32 of its id (the id has its own block). */
export type LiveBlock = Omit<ChannelLive, "programId"> & { programIdCrc32: number };

export function encodeLiveBlock(map: RegisterMap, live: ChannelLive, words: MutableWords, at: number): void {
  const w = writer(words, at, map.input.live.fields, `live[channel ${live.channel}]`);
  w.num("channel", live.channel);
  w.enumName("state", live.state);
  w.num("alarmCode", live.alarmCode);
  w.num("voltageV", live.voltageV);
  w.num("currentA", live.currentA);
  w.num("temperatureC", live.temperatureC);
  w.num("stepCapacityAh", live.stepCapacityAh);
  w.num("stepEnergyWh", live.stepEnergyWh);
  w.num("stepIndex", live.stepIndex);
  w.num("stepTimeS", live.stepTimeS);
  w.num("testTimeS", live.testTimeS);
  w.num("cycle", live.cycle);
  w.big("lastSeq", live.lastSeq);
  w.num("programIdCrc32", crc32(live.programId));
}

/** Measurement fields a corrupted channel serves as their type's largest raw value (the classic 0x7FFF… sentinel). */
export const CORRUPTIBLE_LIVE_FIELDS = ["voltageV", "currentA", "temperatureC"] as const;

export function corruptLiveBlock(map: RegisterMap, words: MutableWords, at: number): void {
  const w = writer(words, at, map.input.live.fields, "live");
  for (const n of CORRUPTIBLE_LIVE_FIELDS) {
    const f = field(map.input.live.fields, n);
    w.raw(n, layout(f, n).hi);
  }
}

/** Live fields that decode to NaN when invalid (the channel stays readable, see decodeLiveBlock). */
const GUARDED_LIVE_NUMBERS = ["alarmCode", "voltageV", "currentA", "temperatureC", "stepCapacityAh", "stepEnergyWh", "stepIndex", "stepTimeS", "testTimeS", "cycle"] as const;

/**
 * Decode one live block. A field whose raw value is outside its valid range does not fail the whole read (the
 * other channels are fine): it reads as NaN, the channel's alarmCode becomes invalidReading and `invalid` lists
 * what was wrong, so no corrupt value ever travels on as a plausible number.
 */
export function decodeLiveBlock(map: RegisterMap, words: Words, at: number, path: string): { live: LiveBlock; invalid: string[] } {
  const r = reader(words, at, map.input.live.fields, path);
  const invalid: string[] = [];
  const invalidAs = <T>(e: unknown, fallback: T): T => {
    if (!(e instanceof RegisterDecodeError)) throw e;
    invalid.push(e.message);
    return fallback;
  };
  let state: ChannelState;
  try {
    state = r.enumName<ChannelState>("state");
  } catch (e) {
    state = invalidAs<ChannelState>(e, "offline");
  }
  const numbers = {} as Record<(typeof GUARDED_LIVE_NUMBERS)[number], number>;
  for (const n of GUARDED_LIVE_NUMBERS) {
    try {
      numbers[n] = r.num(n);
    } catch (e) {
      numbers[n] = invalidAs(e, Number.NaN);
    }
  }
  const live: LiveBlock = {
    channel: r.num("channel"),
    state,
    ...numbers,
    lastSeq: r.big("lastSeq"),
    programIdCrc32: r.num("programIdCrc32"),
  };
  if (invalid.length > 0) live.alarmCode = ALARM_CODES.invalidReading;
  return { live, invalid };
}

export function encodeProgramIdBlock(map: RegisterMap, programId: string, words: MutableWords, at: number): void {
  writer(words, at, map.input.programId.fields, "programId").str("programId", programId);
}

export function decodeProgramIdBlock(map: RegisterMap, words: Words, at: number, path: string): string {
  return reader(words, at, map.input.programId.fields, path).str("programId");
}

// ---- program download ----------------------------------------------------------------------------------

export interface RegisterWrite {
  address: number;
  values: number[];
}

/** Split one contiguous write into requests of at most maxWrite registers. */
export function chunkWrite(address: number, values: readonly number[], maxWrite: number): RegisterWrite[] {
  const out: RegisterWrite[] = [];
  for (let i = 0; i < values.length; i += maxWrite) out.push({ address: address + i, values: values.slice(i, i + maxWrite) });
  return out;
}

function endActionCode(e: End): { then: string; goto: number; repeat: number | undefined } {
  if (typeof e.then === "object") return { then: "goto", goto: e.then.goto, repeat: e.then.repeat };
  return { then: e.then, goto: 0, repeat: undefined };
}

function encodeStep(map: RegisterMap, step: Step, index: number): number[] {
  const b = map.holding.programSteps;
  const words = new Array<number>(blockUsedSize(b)).fill(0);
  const path = `steps[${index}]`;
  const w = writer(words, 0, b.fields, path);
  w.enumName("mode", step.mode);
  w.opt("currentA", step.currentA);
  w.opt("voltageV", step.voltageV);
  w.opt("powerW", step.powerW);
  w.num("endCount", step.ends.length);
  w.num("logEveryS", step.log.everyS);
  w.opt("logDeltaV", step.log.deltaV);
  w.opt("logDeltaI", step.log.deltaI);
  const segments = step.segments ?? [];
  w.num("segmentCount", segments.length);
  const ends = group(b, "ends");
  step.ends.forEach((e, j) => {
    const we = writer(words, ends.offset + j * ends.stride, ends.fields, `${path}.ends[${j}]`);
    const action = endActionCode(e);
    we.enumName("quantity", e.on);
    we.enumName("op", e.op);
    we.num("value", e.value, map.endValueScales[e.on].scale);
    we.enumName("then", action.then);
    we.num("goto", action.goto);
    we.opt("repeat", action.repeat);
  });
  const segs = group(b, "segments");
  segments.forEach((s, j) => {
    const ws = writer(words, segs.offset + j * segs.stride, segs.fields, `${path}.segments[${j}]`);
    ws.enumName("kind", s.currentA !== undefined ? "current" : "power");
    ws.num("value", s.currentA ?? s.powerW ?? Number.NaN);
    ws.num("durationS", s.durationS);
  });
  return words;
}

/**
 * The writes that download a program into the step table (header, then one slot per step), each at most
 * map.maxWriteRegisters long. Step labels are not transferred. Throws RegisterEncodeError naming the field
 * a value cannot be represented in.
 */
export function encodeProgram(map: RegisterMap, program: Program): RegisterWrite[] {
  const header = map.holding.programHeader;
  const hw = new Array<number>(header.size).fill(0);
  const w = writer(hw, 0, header.fields, "program");
  w.str("programId", program.id);
  w.num("stepCount", program.steps.length);
  w.num("maxVoltageV", program.safety.maxVoltageV);
  w.num("minVoltageV", program.safety.minVoltageV);
  w.num("maxCurrentA", program.safety.maxCurrentA);
  w.num("maxTemperatureC", program.safety.maxTemperatureC);
  w.opt("minTemperatureC", program.safety.minTemperatureC);
  w.opt("maxCapacityAh", program.safety.maxCapacityAh);
  const steps = map.holding.programSteps;
  if (program.steps.length > steps.count) throw new RegisterEncodeError("program.steps", `${program.steps.length} steps, the step table holds ${steps.count}`);
  return [
    ...chunkWrite(header.base, hw, map.maxWriteRegisters),
    ...program.steps.flatMap((s, i) => chunkWrite(steps.base + i * steps.size, encodeStep(map, s, i), map.maxWriteRegisters)),
  ];
}

function decodeStep(map: RegisterMap, image: Words, index: number): unknown {
  const b = map.holding.programSteps;
  const at = b.base + index * b.size;
  const path = `programSteps[${index}]`;
  const r = reader(image, at, b.fields, path);
  const endCount = r.num("endCount");
  const segmentCount = r.num("segmentCount");
  const ends = group(b, "ends");
  const segs = group(b, "segments");
  if (endCount > ends.count) throw new RegisterDecodeError(`${path}.endCount`, `${endCount} ends, a step holds ${ends.count}`);
  if (segmentCount > segs.count) throw new RegisterDecodeError(`${path}.segmentCount`, `${segmentCount} segments, a step holds ${segs.count}`);
  let log: Step["log"] = { everyS: r.num("logEveryS") };
  log = withOptional(log, "deltaV", r.opt("logDeltaV"));
  log = withOptional(log, "deltaI", r.opt("logDeltaI"));
  let step: Record<string, unknown> = { mode: r.enumName<Step["mode"]>("mode") };
  step = withOptional(step, "currentA", r.opt("currentA"));
  step = withOptional(step, "voltageV", r.opt("voltageV"));
  step = withOptional(step, "powerW", r.opt("powerW"));
  const decodedEnds = Array.from({ length: endCount }, (_, j) => {
    const re = reader(image, at + ends.offset + j * ends.stride, ends.fields, `${path}.ends[${j}]`);
    const on = re.enumName<End["on"]>("quantity");
    const then = re.enumName<"next" | "end" | "goto">("then");
    const repeat = re.opt("repeat");
    const action: End["then"] = then === "goto" ? withOptional({ goto: re.num("goto") }, "repeat", repeat) : then;
    return { on, op: re.enumName<End["op"]>("op"), value: re.num("value", map.endValueScales[on].scale), then: action };
  });
  const segments = Array.from({ length: segmentCount }, (_, j) => {
    const rs = reader(image, at + segs.offset + j * segs.stride, segs.fields, `${path}.segments[${j}]`);
    const kind = rs.enumName<"current" | "power">("kind");
    return { [kind === "current" ? "currentA" : "powerW"]: rs.num("value"), durationS: rs.num("durationS") };
  });
  if (segmentCount > 0) step.segments = segments;
  return { ...step, ends: decodedEnds, log };
}

/** Read a program back from a holding-register image (absolute addresses) and validate it like any program. */
export function decodeProgram(map: RegisterMap, image: Words): Program {
  const header = map.holding.programHeader;
  const r = reader(image, header.base, header.fields, "programHeader");
  const stepCount = r.num("stepCount");
  if (stepCount > map.holding.programSteps.count) throw new RegisterDecodeError("programHeader.stepCount", `${stepCount} steps, the table holds ${map.holding.programSteps.count}`);
  let safety: Program["safety"] = {
    maxVoltageV: r.num("maxVoltageV"),
    minVoltageV: r.num("minVoltageV"),
    maxCurrentA: r.num("maxCurrentA"),
    maxTemperatureC: r.num("maxTemperatureC"),
  };
  safety = withOptional(safety, "minTemperatureC", r.opt("minTemperatureC"));
  safety = withOptional(safety, "maxCapacityAh", r.opt("maxCapacityAh"));
  const candidate = {
    id: r.str("programId"),
    steps: Array.from({ length: stepCount }, (_, i) => decodeStep(map, image, i)),
    safety,
  };
  const parsed = programSchema.safeParse(candidate);
  if (!parsed.success) throw new RegisterDecodeError("programHeader", `step table is not a valid program:\n${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

// ---- commands and the record window ------------------------------------------------------------------

export type ModbusCommand = ChannelCommand | "load";
export type CommandStatus = "ok" | "bad-channel" | "bad-program" | "bad-state" | "bad-command";

export function encodeCommand(map: RegisterMap, channel: number, command: ModbusCommand): number[] {
  const words = new Array<number>(map.holding.command.size).fill(0);
  const w = writer(words, 0, map.holding.command.fields, "command");
  w.num("channel", channel);
  w.enumName("command", command);
  return words;
}

export function decodeCommand(map: RegisterMap, words: Words): { channel: number; command: ModbusCommand | "none"; code: number } {
  const r = reader(words, 0, map.holding.command.fields, "command");
  return { channel: r.num("channel"), command: r.enumName<ModbusCommand | "none">("command"), code: Number(r.big("command")) };
}

export interface CommandResult {
  status: CommandStatus;
  command: number;
  channel: number;
  message: string;
}

export function encodeCommandResult(map: RegisterMap, result: CommandResult): Uint16Array {
  const b = map.input.commandResult;
  const words = new Uint16Array(b.size);
  const w = writer(words, 0, b.fields, "commandResult");
  w.enumName("status", result.status);
  w.num("command", result.command);
  w.num("channel", result.channel);
  w.str("message", toAsciiText(result.message, 2 * (field(b.fields, "message").registers ?? 0)));
  return words;
}

export function decodeCommandResult(map: RegisterMap, words: Words): CommandResult {
  const r = reader(words, 0, map.input.commandResult.fields, "commandResult");
  return { status: r.enumName<CommandStatus>("status"), command: r.num("command"), channel: r.num("channel"), message: r.str("message") };
}

export interface RecordRequest {
  channel: number;
  afterSeq: bigint;
  max: number;
}

export function encodeRecordRequest(map: RegisterMap, req: RecordRequest): number[] {
  const words = new Array<number>(map.holding.recordRequest.size).fill(0);
  const w = writer(words, 0, map.holding.recordRequest.fields, "recordRequest");
  w.num("channel", req.channel);
  w.big("afterSeq", req.afterSeq);
  w.num("max", req.max);
  return words;
}

export function decodeRecordRequest(map: RegisterMap, words: Words): RecordRequest {
  const r = reader(words, 0, map.holding.recordRequest.fields, "recordRequest");
  return { channel: r.num("channel"), afterSeq: r.big("afterSeq"), max: r.num("max") };
}

/** How many record slots the window has. */
export function recordSlotCount(map: RegisterMap): number {
  return group(map.input.recordWindow, "records").count;
}

/** Words of the record window [0, used) for `records.length` records (header + used slots). */
export function encodeRecordWindow(map: RegisterMap, req: Omit<RecordRequest, "max">, records: readonly ChannelRecord[]): Uint16Array {
  const b = map.input.recordWindow;
  const slots = group(b, "records");
  if (records.length > slots.count) throw new RegisterEncodeError("recordWindow.count", `${records.length} records, the window holds ${slots.count}`);
  const words = new Uint16Array(b.size);
  const w = writer(words, 0, b.fields, "recordWindow");
  w.num("channel", req.channel);
  w.big("afterSeq", req.afterSeq);
  w.num("count", records.length);
  records.forEach((rec, i) => {
    const ws = writer(words, slots.offset + i * slots.stride, slots.fields, `recordWindow.records[${i}]`);
    ws.big("seq", rec.seq);
    ws.num("unixTimeS", rec.unixTimeS);
    ws.num("testTimeS", rec.testTimeS);
    ws.num("stepIndex", rec.stepIndex);
    ws.num("cycle", rec.cycle);
    ws.num("voltageV", rec.voltageV);
    ws.num("currentA", rec.currentA);
    ws.num("temperatureC", rec.temperatureC);
    ws.num("chargeAh", rec.chargeAh);
    ws.num("dischargeAh", rec.dischargeAh);
    ws.num("chargeWh", rec.chargeWh);
    ws.num("dischargeWh", rec.dischargeWh);
    ws.num("flags", rec.flags);
  });
  return words;
}

/** Registers to read for a window holding `count` records: the header and the used slots. */
export function recordWindowLength(map: RegisterMap, count: number): number {
  const slots = group(map.input.recordWindow, "records");
  return slots.offset + count * slots.stride;
}

export function decodeRecordWindowHeader(map: RegisterMap, words: Words): { channel: number; afterSeq: bigint; count: number } {
  const r = reader(words, 0, map.input.recordWindow.fields, "recordWindow");
  return { channel: r.num("channel"), afterSeq: r.big("afterSeq"), count: r.num("count") };
}

export function decodeRecordSlots(map: RegisterMap, words: Words, count: number, channel: number): ChannelRecord[] {
  const slots = group(map.input.recordWindow, "records");
  return Array.from({ length: count }, (_, i) => {
    const r = reader(words, slots.offset + i * slots.stride, slots.fields, `channel ${channel} record slot ${i}`);
    return {
      seq: r.big("seq"),
      unixTimeS: r.num("unixTimeS"),
      testTimeS: r.num("testTimeS"),
      stepIndex: r.num("stepIndex"),
      cycle: r.num("cycle"),
      voltageV: r.num("voltageV"),
      currentA: r.num("currentA"),
      temperatureC: r.num("temperatureC"),
      chargeAh: r.num("chargeAh"),
      dischargeAh: r.num("dischargeAh"),
      chargeWh: r.num("chargeWh"),
      dischargeWh: r.num("dischargeWh"),
      flags: r.num("flags"),
    };
  });
}

/** Group whole blocks [first, first + count) into reads of at most maxRead registers (a block is never split, so no 32/64-bit value tears). */
export function planBlockReads(block: RegisterBlock, first: number, count: number, maxRead: number): { address: number; length: number; firstBlock: number; blocks: number }[] {
  const perRead = Math.floor(maxRead / block.size);
  if (perRead < 1) throw new Error(`a block of ${block.size} registers does not fit one read of ${maxRead}`);
  const reads = [];
  for (let k = first; k < first + count; k += perRead) {
    const blocks = Math.min(perRead, first + count - k);
    reads.push({ address: block.base + k * block.size, length: blocks * block.size, firstBlock: k, blocks });
  }
  return reads;
}

