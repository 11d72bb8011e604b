/**
 * Modbus TCP front-end of the simulated cycler: serves a SimCyclerApi through the register map
 * (station-config/maps/modbus-cycler.yaml) with modbus-serial's ServerTCP, as a real instrument would.
 * Exceptions: 0x02 outside the map (or a trigger block not written whole), 0x03 beyond 125 read / 123 written
 * registers or for an undecodable command, 0x04 when the cycler rejects a command (reason in commandResult).
 * Link faults (dropped, delayed, corrupted) are switchable at run time for tests.
 */
import net from "node:net";
import { ServerTCP } from "modbus-serial";
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
  stop(): Promise<void>;
}

const EXCEPTION = { illegalFunction: 0x01, illegalAddress: 0x02, illegalValue: 0x03, deviceFailure: 0x04 } as const;
/** read holding, read input, write single, write multiple: everything else (coils, discrete inputs, FC 23 …) is 0x01 */
const SUPPORTED_FUNCTIONS: ReadonlySet<number> = new Set([3, 4, 6, 16]);

/** An error ServerTCP turns into a Modbus exception reply with this code. */
class ModbusException extends Error {
  constructor(
    readonly modbusErrorCode: number,
    message: string,
  ) {
    super(message);
    this.name = "ModbusException";
  }
}

async function freePort(host: string): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => probe.once("error", reject).listen(0, host, resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function listen(vector: object, host: string, port: number, unitId: number): Promise<ServerTCP> {
  const server = new ServerTCP(vector, { host, port, unitID: unitId });
  await new Promise<void>((resolve, reject) => {
    server.once("initialized", () => resolve());
    server.once("serverError", (e: Error) => reject(e));
  });
  return server;
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

  /** Slice [offset, offset + length) of blocks of `size` registers, encoding only the instances touched. */
  const instances = (offset: number, length: number, size: number, available: number, encode: (k: number, words: Uint16Array, at: number) => void): number[] => {
    const first = Math.floor(offset / size);
    const last = Math.floor((offset + length - 1) / size);
    if (last >= available) throw new ModbusException(EXCEPTION.illegalAddress, `block ${last} does not exist on this instrument (${available} channels)`);
    const words = new Uint16Array((last - first + 1) * size);
    for (let k = first; k <= last; k++) encode(k, words, (k - first) * size);
    const start = offset - first * size;
    return Array.from(words.subarray(start, start + length));
  };

  const readInput = (address: number, length: number): number[] => {
    if (length < 1 || length > map.maxReadRegisters) throw new ModbusException(EXCEPTION.illegalValue, `read of ${length} registers (1..${map.maxReadRegisters})`);
    const hit = locate(map.input, address, length);
    if (!hit) throw new ModbusException(EXCEPTION.illegalAddress, `input registers ${address}..${address + length - 1} are not in the map`);
    const offset = address - hit.block.base;
    try {
      switch (hit.name) {
        case "identification":
          return Array.from(encodeInfo(map, cycler.info()).subarray(offset, offset + length));
        case "live": {
          const live = cycler.live();
          return instances(offset, length, hit.block.size, live.length, (k, words, at) => {
            encodeLiveBlock(map, live[k], words, at);
            if (faults.corruptChannels.includes(live[k].channel)) corruptLiveBlock(map, words, at);
          });
        }
        case "programId": {
          const live = cycler.live();
          return instances(offset, length, hit.block.size, live.length, (k, words, at) => encodeProgramIdBlock(map, live[k].programId, words, at));
        }
        case "commandResult":
          return Array.from(commandResult.subarray(offset, offset + length));
        case "recordWindow":
          return Array.from(recordWindow.subarray(offset, offset + length));
      }
    } catch (e) {
      if (e instanceof ModbusException) throw e;
      throw new ModbusException(EXCEPTION.deviceFailure, e instanceof Error ? e.message : String(e));
    }
  };

  const readHolding = (address: number, length: number): number[] => {
    if (length < 1 || length > map.maxReadRegisters) throw new ModbusException(EXCEPTION.illegalValue, `read of ${length} registers (1..${map.maxReadRegisters})`);
    if (!locate(map.holding, address, length)) throw new ModbusException(EXCEPTION.illegalAddress, `holding registers ${address}..${address + length - 1} are not in the map`);
    return Array.from(holding.subarray(address, address + length));
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

  const writeHolding = (address: number, values: number[]): void => {
    if (values.length < 1 || values.length > map.maxWriteRegisters) throw new ModbusException(EXCEPTION.illegalValue, `write of ${values.length} registers (1..${map.maxWriteRegisters})`);
    const hit = locate(map.holding, address, values.length);
    if (!hit) throw new ModbusException(EXCEPTION.illegalAddress, `holding registers ${address}..${address + values.length - 1} are not writable`);
    if (hit.block.trigger && (address !== hit.block.base || values.length !== blockExtent(hit.block))) {
      throw new ModbusException(EXCEPTION.illegalAddress, `${hit.name} must be written whole: ${hit.block.size} registers at ${hit.block.base}`);
    }
    holding.set(values, address);
    if (hit.name === "heartbeat") cycler.heartbeat();
    else if (hit.name === "command") runCommand();
    else if (hit.name === "recordRequest") runRecordRequest();
  };

  const vector = {
    getInputRegister: (address: number) => readInput(address, 1)[0],
    getMultipleInputRegisters: (address: number, length: number) => readInput(address, length),
    getHoldingRegister: (address: number) => readHolding(address, 1)[0],
    getMultipleHoldingRegisters: (address: number, length: number) => readHolding(address, length),
    setRegister: (address: number, value: number) => writeHolding(address, [value]),
    setRegisterArray: (address: number, values: number[]) => writeHolding(address, values),
  };

  let server: ServerTCP | undefined;
  for (let attempt = 0; server === undefined; attempt++) {
    const port = o.port === 0 ? await freePort(host) : o.port;
    try {
      server = await listen(vector, host, port, o.unitId);
    } catch (e) {
      // a free port can be taken between probing and listening; only then try another
      if (o.port !== 0 || attempt >= 4 || (e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
    }
  }
  // ServerTCP re-emits per-socket failures; without listeners an "error" event would crash the simulator.
  server.on("error", () => undefined);
  server.on("socketError", () => undefined);
  // ServerTCP keeps its net.Server private and does not expose the bound port (0 would also mean 502 to it).
  const tcp = (server as unknown as { _server: net.Server })._server;
  const port = (tcp.address() as net.AddressInfo).port;

  const exceptionReply = (frame: Buffer, code: number): Buffer => {
    const reply = Buffer.alloc(9);
    reply.writeUInt16BE(frame.readUInt16BE(0), 0);
    reply.writeUInt16BE(0, 2);
    reply.writeUInt16BE(3, 4);
    reply.writeUInt8(frame[6], 6);
    reply.writeUInt8(frame[7] | 0x80, 7);
    reply.writeUInt8(code, 8);
    return reply;
  };

  /**
   * Read Input Registers (0x04) answered here, on the hot path of live values and record windows: ServerTCP parses
   * every frame after a setTimeout(0), which adds ≥ 1 ms per request and caps bulk record transfer.
   */
  const inputRegistersReply = (frame: Buffer): Buffer => {
    let words: number[];
    try {
      words = readInput(frame.readUInt16BE(8), frame.readUInt16BE(10));
    } catch (e) {
      return exceptionReply(frame, e instanceof ModbusException ? e.modbusErrorCode : EXCEPTION.deviceFailure);
    }
    const reply = Buffer.alloc(9 + 2 * words.length);
    frame.copy(reply, 0, 0, 4); // transaction and protocol id
    reply.writeUInt16BE(3 + 2 * words.length, 4);
    reply.writeUInt8(frame[6], 6);
    reply.writeUInt8(4, 7);
    reply.writeUInt8(2 * words.length, 8);
    words.forEach((w, i) => reply.writeUInt16BE(w, 9 + 2 * i));
    return reply;
  };

  /**
   * Sits between the socket and ServerTCP's frame parser: answers over-long requests with 0x03 itself
   * (ServerTCP fails them with 0x04 beyond 127 registers, before any vector is called) and delays frames.
   */
  const gate = (sock: net.Socket, deliver: (chunk: Buffer) => void): ((chunk: Buffer) => void) => {
    let pending = Buffer.alloc(0);
    const handle = (frame: Buffer) => {
      const unit = frame[6];
      const fc = frame[7];
      const quantity = frame.length >= 12 ? frame.readUInt16BE(10) : 1;
      const answered = o.unitId === 0 || unit === o.unitId;
      const tooMany = ((fc === 3 || fc === 4) && (quantity === 0 || quantity > map.maxReadRegisters)) || (fc === 16 && (quantity === 0 || quantity > map.maxWriteRegisters));
      const act = () => {
        if (sock.destroyed) return;
        // ServerTCP sends nothing at all for coil functions without a coil vector: a client would hang until its timeout.
        if (answered && !SUPPORTED_FUNCTIONS.has(fc)) sock.write(exceptionReply(frame, EXCEPTION.illegalFunction));
        else if (answered && tooMany) sock.write(exceptionReply(frame, EXCEPTION.illegalValue));
        else if (answered && fc === 4 && frame.length === 12) sock.write(inputRegistersReply(frame));
        else deliver(frame);
      };
      if (faults.delayMs > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          act();
        }, faults.delayMs);
        timers.add(t);
      } else act();
    };
    return (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8 && pending.length >= 6 + pending.readUInt16BE(4)) {
        const total = 6 + pending.readUInt16BE(4);
        handle(pending.subarray(0, total));
        pending = pending.subarray(total);
      }
    };
  };

  tcp.prependListener("connection", (sock: net.Socket) => {
    if (dropped) {
      sock.destroy();
      return;
    }
    sockets.add(sock);
    // Request/response traffic: without TCP_NODELAY, Nagle's algorithm and delayed ACKs add milliseconds per reply.
    sock.setNoDelay(true);
    sock.once("close", () => sockets.delete(sock));
    const on = sock.on.bind(sock);
    // ServerTCP registers its frame parser with sock.on("data"); route it through the gate.
    sock.on = ((event: string, listener: (chunk: Buffer) => void) =>
      event === "data" ? on("data", gate(sock, listener)) : on(event, listener)) as typeof sock.on;
  });

  return {
    port,
    faults,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
      }),
  };
}
