/**
 * CyclerDriver over Modbus TCP (modbus-serial client), driven by a register map (station-config/maps).
 * modbus-serial pitfalls handled here (DESIGN §14): every request has a timeout (#308); one job at a time per
 * connection, so all requests go through one queue (#404), and within the live poll only as many reads pipelined
 * as the map's maxRequestsInFlight allows (1 unless the instrument declares more); no auto-reconnect, so after a drop a NEW client is
 * connected with exponential backoff (#461); reads are split to ≤ 125 registers, never splitting a channel block.
 */
import ModbusSerial from "modbus-serial";
import type { ChannelCommand, ChannelLive, ChannelRecord } from "../../domain/equipment/channel.ts";
import { programLimitViolations } from "../../domain/equipment/program-limits.ts";
import { describeIssues, programSchema, type Program } from "../../domain/equipment/program.ts";
import { EquipmentError, type CyclerDriver, type CyclerInfo, type LinkState, type LinkStatus } from "../cycler-driver.ts";
import {
  RegisterDecodeError,
  RegisterEncodeError,
  crc32,
  decodeCommandResult,
  decodeInfo,
  decodeLiveBlock,
  decodeProgramIdBlock,
  decodeRecordSlots,
  decodeRecordWindowHeader,
  encodeCommand,
  encodeProgram,
  encodeRecordRequest,
  planBlockReads,
  recordSlotCount,
  recordWindowLength,
  type ModbusCommand,
} from "./register-codec.ts";
import type { RegisterMap } from "./register-map.ts";

export interface ModbusCyclerDriverOptions {
  host: string;
  port: number;
  unitId: number;
  map: RegisterMap;
  /** per request; a missing reply becomes EquipmentError "timeout" */
  requestTimeoutMs: number;
  /** named in every EquipmentError */
  equipmentId?: string;
  /** reconnect backoff after a drop: first delay, doubled per failed attempt up to maxDelayMs */
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
}

/** One TCP connection: a fresh modbus-serial client, and a promise that rejects when the connection closes. */
interface Link {
  client: ModbusRTU;
  gone: Promise<never>;
}

// modbus-serial is CommonJS with `module.exports.default = module.exports`; its typings expose the class as `.default`.
const ModbusRTU = ModbusSerial.default;
type ModbusRTU = InstanceType<typeof ModbusRTU>;

const isTimeout = (e: unknown) => (e as { errno?: string }).errno === "ETIMEDOUT" || (e as { name?: string }).name === "TransactionTimedOutError";
const modbusCode = (e: unknown): number | undefined => (e as { modbusCode?: number }).modbusCode;

/**
 * fn over items with at most `depth` calls pending at once, results in item order. Modbus TCP tells pipelined
 * replies apart by their MBAP transaction id ("several MODBUS transactions can be activated simultaneously on the
 * same TCP connection", Modbus Messaging on TCP/IP Implementation Guide V1.0b), which modbus-serial matches per
 * transaction; whether the instrument accepts more than one is its map's maxRequestsInFlight. After a failure no
 * further call starts.
 */
async function pipelined<T, R>(items: readonly T[], depth: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(depth, items.length) }, lane));
  return out;
}

export function createModbusCyclerDriver(o: ModbusCyclerDriverOptions): CyclerDriver {
  const { map } = o;
  const backoff = o.reconnect ?? { initialDelayMs: 200, maxDelayMs: 10_000 };
  const where = `${o.equipmentId ?? "cycler"} (modbus://${o.host}:${o.port} unit ${o.unitId})`;
  const listeners: ((s: LinkState) => void)[] = [];
  let link: Link | undefined;
  let info: CyclerInfo | undefined;
  let status: LinkStatus | undefined;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let queueTail: Promise<unknown> = Promise.resolve();
  let heartbeatCount = 0;
  /** program id per live block, keyed by its CRC-32, so the id is read only when it changes */
  const programIds = new Map<number, { crc: number; id: string }>();

  const fail = (kind: EquipmentError["kind"], message: string, channel?: number) => new EquipmentError(kind, `${where}: ${message}`, o.equipmentId, channel);

  const setStatus = (next: LinkStatus, reason?: string) => {
    if (next === status) return;
    status = next;
    const s: LinkState = reason === undefined ? { status: next } : { status: next, reason };
    for (const fn of listeners) fn(s);
  };

  const openLink = async (): Promise<{ link: Link; info: CyclerInfo }> => {
    const client = new ModbusRTU();
    client.setTimeout(o.requestTimeoutMs);
    // modbus-serial re-emits socket errors as "error"; the close that follows is what we act on
    client.on("error", () => undefined);
    await client.connectTCP(o.host, { port: o.port });
    client.setID(o.unitId);
    let onGone: (e: EquipmentError) => void = () => undefined;
    const gone = new Promise<never>((_, reject) => (onGone = reject));
    gone.catch(() => undefined);
    const candidate: Link = { client, gone };
    client.on("close", () => {
      onGone(fail("unreachable", "connection closed"));
      if (link === candidate) dropped("connection closed");
    });
    try {
      const id = map.input.identification;
      const reply = await Promise.race([client.readInputRegisters(id.base, id.size), gone]);
      const read = decodeInfo(map, reply.data);
      if (read.channelCount > map.input.live.count) throw new RegisterDecodeError("identification.channelCount", `${read.channelCount} channels, the map has blocks for ${map.input.live.count}`);
      return { link: candidate, info: read };
    } catch (e) {
      client.close(() => undefined);
      throw e;
    }
  };

  const install = (opened: { link: Link; info: CyclerInfo }) => {
    link = opened.link;
    if (info !== undefined && info.bootId !== opened.info.bootId) programIds.clear();
    info = opened.info;
    setStatus("connected");
  };

  const scheduleReconnect = (delayMs: number) => {
    if (closed || reconnectTimer !== undefined) return;
    reconnectTimer = setTimeout(async () => {
      reconnectTimer = undefined;
      try {
        const opened = await openLink();
        if (closed) opened.link.client.close(() => undefined);
        else install(opened);
      } catch {
        scheduleReconnect(Math.min(delayMs * 2, backoff.maxDelayMs));
      }
    }, delayMs);
  };

  function dropped(reason: string) {
    const old = link;
    link = undefined;
    old?.client.close(() => undefined);
    if (closed) return;
    setStatus("lost", reason);
    scheduleReconnect(backoff.initialDelayMs);
  }

  /** Translate whatever a job threw into an EquipmentError; drops and timeouts also change the link state. */
  const translate = (e: unknown, channel?: number): EquipmentError => {
    if (e instanceof EquipmentError) return e;
    if (e instanceof RegisterDecodeError) return fail("invalid-reading", e.message, channel);
    if (e instanceof RegisterEncodeError) return fail("rejected", e.message, channel);
    const message = e instanceof Error ? e.message : String(e);
    if (isTimeout(e)) {
      setStatus("degraded", `no reply within ${o.requestTimeoutMs} ms`);
      return fail("timeout", `no reply within ${o.requestTimeoutMs} ms`, channel);
    }
    if (modbusCode(e) !== undefined) return fail("protocol", message, channel);
    dropped(message);
    return fail("unreachable", message, channel);
  };

  /** Run a job alone on the connection (one request in flight, #404); jobs queue in call order. */
  const run = <T>(job: (client: ModbusRTU, info: CyclerInfo) => Promise<T>, channel?: number): Promise<T> => {
    const result = queueTail.then(async () => {
      const l = link;
      if (closed) throw fail("unreachable", "driver closed", channel);
      if (l === undefined || info === undefined) throw fail("unreachable", "not connected", channel);
      try {
        const value = await Promise.race([job(l.client, info), l.gone]);
        if (status === "degraded") setStatus("connected");
        return value;
      } catch (e) {
        throw translate(e, channel);
      }
    });
    queueTail = result.catch(() => undefined);
    return result;
  };

  /** Write a trigger block; if the instrument refuses, its commandResult says why. */
  const trigger = async (client: ModbusRTU, address: number, values: number[], channel: number, what: string) => {
    try {
      await client.writeRegisters(address, values);
    } catch (e) {
      const code = modbusCode(e);
      if (code !== 0x03 && code !== 0x04) throw e;
      const b = map.input.commandResult;
      const result = decodeCommandResult(map, (await client.readInputRegisters(b.base, b.size)).data);
      if (result.channel !== channel) throw e;
      throw fail("rejected", `${what} on channel ${channel} refused (${result.status}): ${result.message}`, channel);
    }
  };

  /** Read every channel's live block, up to map.maxRequestsInFlight reads pipelined; program ids only where their CRC changed. */
  const readLiveBlocks = async (client: ModbusRTU, cyc: CyclerInfo): Promise<ChannelLive[]> => {
    const block = map.input.live;
    const pid = map.input.programId;
    const depth = map.maxRequestsInFlight;
    const reads = planBlockReads(block, 0, cyc.channelCount, map.maxReadRegisters);
    const replies = await pipelined(reads, depth, async (r) => (await client.readInputRegisters(r.address, r.length)).data);
    const lives = reads.flatMap((r, j) => Array.from({ length: r.blocks }, (_, i) => decodeLiveBlock(map, replies[j], i * block.size, `live block ${r.firstBlock + i}`).live));
    const stale = lives.flatMap((live, k) => (programIds.get(k)?.crc === live.programIdCrc32 ? [] : [k]));
    const ids = await pipelined(stale, depth, async (k) => decodeProgramIdBlock(map, (await client.readInputRegisters(pid.base + k * pid.size, pid.size)).data, 0, `programId block ${k}`));
    const fresh = new Map(stale.map((k, i) => [k, ids[i]]));
    for (const [k, id] of fresh) {
      // cache only a consistent pair: if a load raced between the two reads, read the id again next time
      if (crc32(id) === lives[k].programIdCrc32) programIds.set(k, { crc: lives[k].programIdCrc32, id });
    }
    // a block not re-read has a cached id with its CRC (that is why it was not stale)
    return lives.map(({ programIdCrc32: _, ...rest }, k) => ({ ...rest, programId: fresh.get(k) ?? programIds.get(k)!.id }));
  };

  const readRecordPage = async (client: ModbusRTU, channel: number, afterSeq: bigint, max: number): Promise<ChannelRecord[]> => {
    const window = map.input.recordWindow;
    const request = trigger(client, map.holding.recordRequest.base, encodeRecordRequest(map, { channel, afterSeq, max }), channel, "record request");
    const readFirst = () => client.readInputRegisters(window.base, Math.min(recordWindowLength(map, max), map.maxReadRegisters));
    // Where the instrument takes pipelined requests, the window read goes out behind the request instead of a round
    // trip later. Were it answered first, it would hold the previous request's window: another channel or afterSeq
    // fails the echo check below, and the same request repeated holds a prefix of this answer, still right.
    const first = map.maxRequestsInFlight > 1 ? readFirst() : undefined;
    first?.catch(() => undefined); // a failed request is the error to report
    await request;
    const words: number[] = [...(await (first ?? readFirst())).data];
    const header = decodeRecordWindowHeader(map, words);
    if (header.channel !== channel || header.afterSeq !== afterSeq) {
      throw fail("protocol", `record window holds channel ${header.channel} after ${header.afterSeq}, not the requested channel ${channel} after ${afterSeq} (another client?)`, channel);
    }
    const total = recordWindowLength(map, header.count);
    while (words.length < total) {
      const length = Math.min(map.maxReadRegisters, total - words.length);
      words.push(...(await client.readInputRegisters(window.base + words.length, length)).data);
    }
    return decodeRecordSlots(map, words, header.count, channel);
  };

  const sendCommand = (channel: number, command: ModbusCommand, client: ModbusRTU) =>
    trigger(client, map.holding.command.base, encodeCommand(map, channel, command), channel, command);

  return {
    async connect(signal?: AbortSignal): Promise<CyclerInfo> {
      if (signal?.aborted) throw fail("unreachable", "connect aborted");
      closed = false;
      try {
        const opening = openLink();
        const aborted = new Promise<never>((_, reject) => signal?.addEventListener("abort", () => reject(fail("unreachable", "connect aborted")), { once: true }));
        aborted.catch(() => undefined);
        const opened = await Promise.race([opening, aborted]).catch(async (e) => {
          opening.then((l) => l.link.client.close(() => undefined), () => undefined);
          throw e;
        });
        install(opened);
        return structuredClone(opened.info);
      } catch (e) {
        throw e instanceof EquipmentError ? e : e instanceof RegisterDecodeError ? fail("protocol", e.message) : fail("unreachable", e instanceof Error ? e.message : String(e));
      }
    },

    readLive: () => run(readLiveBlocks),

    readRecords(channel: number, afterSeq: bigint, max: number): Promise<ChannelRecord[]> {
      return run(async (client) => {
        const out: ChannelRecord[] = [];
        let cursor = afterSeq;
        while (out.length < max) {
          const want = Math.min(max - out.length, recordSlotCount(map));
          const page = await readRecordPage(client, channel, cursor, want);
          out.push(...page);
          if (page.length < want) break;
          cursor = page[page.length - 1].seq;
        }
        return out;
      }, channel);
    },

    async load(channel: number, program: Program): Promise<void> {
      const parsed = programSchema.safeParse(program);
      if (!parsed.success) throw fail("rejected", `program for channel ${channel} is invalid:\n${describeIssues(parsed.error.issues, "program")}`, channel);
      if (info === undefined) throw fail("unreachable", "not connected", channel);
      const violations = programLimitViolations(parsed.data, info.limits);
      if (violations.length > 0) throw fail("rejected", `program "${program.id}" for channel ${channel} exceeds the instrument:\n${violations.join("\n")}`, channel);
      let writes: ReturnType<typeof encodeProgram>;
      try {
        writes = encodeProgram(map, parsed.data);
      } catch (e) {
        throw translate(e, channel);
      }
      return run(async (client) => {
        for (const w of writes) await client.writeRegisters(w.address, w.values);
        await sendCommand(channel, "load", client);
      }, channel);
    },

    command: (channel: number, cmd: ChannelCommand) => run((client) => sendCommand(channel, cmd, client), channel),

    heartbeat: () =>
      run(async (client) => {
        heartbeatCount = (heartbeatCount + 1) & 0xffff;
        await client.writeRegister(map.holding.heartbeat.base, heartbeatCount);
      }),

    async close(): Promise<void> {
      closed = true;
      clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      const l = link;
      link = undefined;
      await queueTail;
      if (l) await new Promise<void>((resolve) => l.client.close(() => resolve()));
    },

    on(_event: "state", fn: (s: LinkState) => void): void {
      listeners.push(fn);
    },
  };
}
