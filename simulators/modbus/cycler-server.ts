/**
 * Modbus TCP front-end of the simulated cycler: serves a SimCyclerApi through the register map
 * (station-config/maps/modbus-cycler.yaml), as a real instrument would. Functions 3, 4, 6 and 16 are answered
 * here, synchronously and in arrival order, so pipelined requests (the map's maxRequestsInFlight) are served in
 * order; modbus-serial's ServerTCP is not used: it parses every frame after a setTimeout(0), which costs ≥ 1 ms per
 * request and reorders a write behind a read that came after it.
 * Exceptions: 0x01 for any other function, 0x02 outside the map (or a trigger block not written whole), 0x03 beyond
 * 125 read / 123 written registers or for an undecodable command, 0x04 when the cycler rejects a command (reason
 * in commandResult). Requests for another unit id get no reply. Link faults (dropped, delayed, corrupted) are
 * switchable at run time for tests.
 */
import net from "node:net";
import type { ChannelLive } from "../../server/domain/equipment/channel.ts";
import { SimRequestError, type LinkFaults, type SimCyclerApi } from "../cycler/sim-cycler-api.ts";
import { blockExtent, locate, type RegisterMap } from "../../server/equipment/modbus/register-map.ts";
import {
  RegisterDecodeError,
  RegisterEncodeError,
  corruptLiveBlock,
  decodeCommand,
  decodeProgram,
  decodeRecordRequest,
  encodeCommandResult,
  encodeInfo,
  encodeLiveBlock,
  encodeProgramIdBlock,
  encodeRecordWindow,
  type CommandResult,
} from "../../server/equipment/modbus/register-codec.ts";

export interface ModbusCyclerServerOptions {
  cycler: SimCyclerApi;
  /** default 127.0.0.1 */
  host?: string;
  /** 0 = pick a free port (reported as `port`) */
  port: number;
  /** the unit id this server answers; 0 answers every unit */
  unitId: number;
  map: RegisterMap;
}

export interface ModbusCyclerServer {
  port: number;
  faults: LinkFaults;
  /** requests answered so far (exception replies included) with this function code */
  requestsServed(functionCode: number): number;
  stop(): Promise<void>;
}

const EXCEPTION = { illegalFunction: 0x01, illegalAddress: 0x02, illegalValue: 0x03, deviceFailure: 0x04 } as const;
/** MBAP header (transaction id, protocol id, length, unit id) */
const MBAP_BYTES = 7;

/** A request answered with a Modbus exception reply carrying this code. */
class ModbusException extends Error {
  constructor(
    readonly modbusErrorCode: number,
    message: string,
  ) {
    super(message);
    this.name = "ModbusException";
  }
}

export async function startModbusCyclerServer(o: ModbusCyclerServerOptions): Promise<ModbusCyclerServer> {
  const { cycler, map } = o;
  const host = o.host ?? "127.0.0.1";
  const holding = new Uint16Array(65536);
  let recordWindow = encodeRecordWindow(map, { channel: 0, afterSeq: 0n }, []);
  let commandResult = encodeCommandResult(map, { status: "ok", command: 0, channel: 0, message: "" });
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();

  let dropped = false;
  const faults: LinkFaults = {
    get dropped() {
      return dropped;
    },
    set dropped(value: boolean) {
      dropped = value;
      if (value) for (const s of sockets) s.destroy();
    },
    delayMs: 0,
    corruptChannels: [],
  };

  /**
   * One reading of all channels serves every request handled in the same synchronous run (the pipelined reads of
   * one poll arrive together): cycler.live() builds every channel's values, and reading it once per 4-block request
   * made a 512-channel poll cost 128 full readings. Nothing else runs until the microtask that drops it, and a
   * write drops it at once, so no request can see values older than the request before it.
   */
  let liveReading: ChannelLive[] | undefined;
  const currentLive = (): ChannelLive[] => {
    if (liveReading === undefined) {
      liveReading = cycler.live();
      queueMicrotask(() => (liveReading = undefined));
    }
    return liveReading;
  };

  /** Slice [offset, offset + length) of blocks of `size` registers, encoding only the instances touched. */
  const instances = (offset: number, length: number, size: number, available: number, encode: (k: number, words: Uint16Array, at: number) => void): Uint16Array => {
    const first = Math.floor(offset / size);
    const last = Math.floor((offset + length - 1) / size);
    if (last >= available) throw new ModbusException(EXCEPTION.illegalAddress, `block ${last} does not exist on this instrument (${available} channels)`);
    const words = new Uint16Array((last - first + 1) * size);
    for (let k = first; k <= last; k++) encode(k, words, (k - first) * size);
    const start = offset - first * size;
    return words.subarray(start, start + length);
  };

  const readInput = (address: number, length: number): Uint16Array => {
    if (length < 1 || length > map.maxReadRegisters) throw new ModbusException(EXCEPTION.illegalValue, `read of ${length} registers (1..${map.maxReadRegisters})`);
    const hit = locate(map.input, address, length);
    if (!hit) throw new ModbusException(EXCEPTION.illegalAddress, `input registers ${address}..${address + length - 1} are not in the map`);
    const offset = address - hit.block.base;
    try {
      switch (hit.name) {
        case "identification":
          return encodeInfo(map, cycler.info()).subarray(offset, offset + length);
        case "live": {
          const live = currentLive();
          return instances(offset, length, hit.block.size, live.length, (k, words, at) => {
            encodeLiveBlock(map, live[k], words, at);
            if (faults.corruptChannels.includes(live[k].channel)) corruptLiveBlock(map, words, at);
          });
        }
        case "programId": {
          const live = currentLive();
          return instances(offset, length, hit.block.size, live.length, (k, words, at) => encodeProgramIdBlock(map, live[k].programId, words, at));
        }
        case "commandResult":
          return commandResult.subarray(offset, offset + length);
        case "recordWindow":
          return recordWindow.subarray(offset, offset + length);
      }
    } catch (e) {
      if (e instanceof ModbusException) throw e;
      throw new ModbusException(EXCEPTION.deviceFailure, e instanceof Error ? e.message : String(e));
    }
  };

  const readHolding = (address: number, length: number): Uint16Array => {
    if (length < 1 || length > map.maxReadRegisters) throw new ModbusException(EXCEPTION.illegalValue, `read of ${length} registers (1..${map.maxReadRegisters})`);
    if (!locate(map.holding, address, length)) throw new ModbusException(EXCEPTION.illegalAddress, `holding registers ${address}..${address + length - 1} are not in the map`);
    return holding.subarray(address, address + length);
  };

  /** Record the outcome readable in commandResult; a failure also answers with `exception`. */
  const conclude = (result: CommandResult, exception?: number): void => {
    commandResult = encodeCommandResult(map, result);
    if (exception !== undefined) throw new ModbusException(exception, result.message);
  };

  const rejectionOf = (e: unknown, code: number, channel: number): never => {
    if (e instanceof SimRequestError) return conclude({ status: e.code, command: code, channel, message: e.message }, EXCEPTION.deviceFailure) as never;
    if (e instanceof RegisterDecodeError || e instanceof RegisterEncodeError) {
      return conclude({ status: code === 0 ? "bad-command" : "bad-program", command: code, channel, message: e.message }, EXCEPTION.illegalValue) as never;
    }
    throw e;
  };

  const runCommand = (): void => {
    const words = holding.subarray(map.holding.command.base, map.holding.command.base + map.holding.command.size);
    let cmd: ReturnType<typeof decodeCommand>;
    try {
      cmd = decodeCommand(map, words);
    } catch (e) {
      return conclude({ status: "bad-command", command: words[1] ?? 0, channel: words[0] ?? 0, message: e instanceof Error ? e.message : String(e) }, EXCEPTION.illegalValue);
    }
    const { channel, command, code } = cmd;
    if (command === "none") return conclude({ status: "bad-command", command: code, channel, message: "command code 0 (none) does nothing" }, EXCEPTION.illegalValue);
    try {
      if (command === "load") cycler.load(channel, decodeProgram(map, holding));
      else cycler.command(channel, command);
    } catch (e) {
      rejectionOf(e, code, channel);
    }
    conclude({ status: "ok", command: code, channel, message: "" });
  };

  const runRecordRequest = (): void => {
    const b = map.holding.recordRequest;
    let channel = 0;
    try {
      const req = decodeRecordRequest(map, holding.subarray(b.base, b.base + b.size));
      channel = req.channel;
      recordWindow = encodeRecordWindow(map, req, cycler.records(req.channel, req.afterSeq, req.max));
    } catch (e) {
      rejectionOf(e, 0, channel);
    }
    conclude({ status: "ok", command: 0, channel, message: "" });
  };

  const writeHolding = (address: number, values: ArrayLike<number>): void => {
    if (values.length < 1 || values.length > map.maxWriteRegisters) throw new ModbusException(EXCEPTION.illegalValue, `write of ${values.length} registers (1..${map.maxWriteRegisters})`);
    const hit = locate(map.holding, address, values.length);
    if (!hit) throw new ModbusException(EXCEPTION.illegalAddress, `holding registers ${address}..${address + values.length - 1} are not writable`);
    if (hit.block.trigger && (address !== hit.block.base || values.length !== blockExtent(hit.block))) {
      throw new ModbusException(EXCEPTION.illegalAddress, `${hit.name} must be written whole: ${hit.block.size} registers at ${hit.block.base}`);
    }
    holding.set(values, address);
    liveReading = undefined; // a command changes what the channels report
    if (hit.name === "heartbeat") cycler.heartbeat();
    else if (hit.name === "command") runCommand();
    else if (hit.name === "recordRequest") runRecordRequest();
  };

  /** A reply frame: the request's MBAP with the new length, then `pdu` (function code first). */
  const reply = (frame: Buffer, pdu: Buffer): Buffer => {
    const out = Buffer.allocUnsafe(MBAP_BYTES + pdu.length);
    frame.copy(out, 0, 0, 4); // transaction and protocol id
    out.writeUInt16BE(1 + pdu.length, 4);
    out[6] = frame[6];
    pdu.copy(out, MBAP_BYTES);
    return out;
  };

  const registersPdu = (fc: number, words: ArrayLike<number>): Buffer => {
    const pdu = Buffer.allocUnsafe(2 + 2 * words.length);
    pdu[0] = fc;
    pdu[1] = 2 * words.length;
    for (let i = 0; i < words.length; i++) pdu.writeUInt16BE(words[i], 2 + 2 * i);
    return pdu;
  };

  /** The reply PDU to one request PDU (function code first); a ModbusException becomes an exception reply. */
  const served = new Map<number, number>();
  const answer = (pdu: Buffer): Buffer => {
    const fc = pdu[0];
    served.set(fc, (served.get(fc) ?? 0) + 1);
    try {
      if (pdu.length < 5) throw new ModbusException(EXCEPTION.illegalValue, `function ${fc}: request of ${pdu.length} bytes is too short`);
      const address = pdu.readUInt16BE(1);
      const quantity = pdu.readUInt16BE(3);
      switch (fc) {
        case 3:
          return registersPdu(fc, readHolding(address, quantity));
        case 4:
          return registersPdu(fc, readInput(address, quantity));
        case 6:
          writeHolding(address, [quantity]);
          return pdu.subarray(0, 5); // the echo of the request
        case 16: {
          // ServerTCP failed writes beyond 127 registers with 0x04 before looking at them; the limit is 0x03
          if (quantity < 1 || quantity > map.maxWriteRegisters) throw new ModbusException(EXCEPTION.illegalValue, `write of ${quantity} registers (1..${map.maxWriteRegisters})`);
          if (pdu.length !== 6 + 2 * quantity || pdu[5] !== 2 * quantity) throw new ModbusException(EXCEPTION.illegalValue, `write of ${quantity} registers carries ${pdu.length - 6} bytes (byte count ${pdu[5]})`);
          const values = new Uint16Array(quantity);
          for (let i = 0; i < quantity; i++) values[i] = pdu.readUInt16BE(6 + 2 * i);
          writeHolding(address, values);
          return pdu.subarray(0, 5); // function, address, quantity
        }
        default:
          throw new ModbusException(EXCEPTION.illegalFunction, `function ${fc} is not served (only 3, 4, 6 and 16)`);
      }
    } catch (e) {
      return Buffer.from([fc | 0x80, e instanceof ModbusException ? e.modbusErrorCode : EXCEPTION.deviceFailure]);
    }
  };

  /** Frames the byte stream of one connection into requests, each answered in order (after the delay fault, if set). */
  const serve = (sock: net.Socket) => {
    let pending: Buffer = Buffer.alloc(0);
    const handle = (frame: Buffer) => {
      if (o.unitId !== 0 && frame[6] !== o.unitId) return; // another unit on a gateway: not ours to answer
      const act = () => {
        if (!sock.destroyed) sock.write(reply(frame, answer(frame.subarray(MBAP_BYTES))));
      };
      if (faults.delayMs > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          act();
        }, faults.delayMs);
        timers.add(t);
      } else act();
    };
    sock.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 6 && pending.length >= 6 + pending.readUInt16BE(4)) {
        const total = 6 + pending.readUInt16BE(4);
        if (total > MBAP_BYTES) handle(pending.subarray(0, total));
        pending = pending.subarray(total);
      }
    });
  };

  const tcp = net.createServer((sock) => {
    if (dropped) {
      sock.destroy();
      return;
    }
    sockets.add(sock);
    // Request/response traffic: without TCP_NODELAY, Nagle's algorithm and delayed ACKs add milliseconds per reply.
    sock.setNoDelay(true);
    sock.once("close", () => sockets.delete(sock));
    sock.on("error", () => undefined); // a client that vanishes mid-reply: its close follows
    serve(sock);
  });
  await new Promise<void>((resolve, reject) => tcp.once("error", reject).listen(o.port, host, () => resolve()));
  const port = (tcp.address() as net.AddressInfo).port;

  return {
    port,
    faults,
    requestsServed: (functionCode) => served.get(functionCode) ?? 0,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
        tcp.close(() => resolve());
      }),
  };
}
