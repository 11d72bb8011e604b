/**
 * Append-only run traces: one CSV per run in Battery Data Format column style (DESIGN §8), flushed in batches.
 * The trace is the source of truth for which records the station holds: on reopen its last complete line gives the
 * last sequence number, a torn last line (power loss, SIGKILL mid-write) is cut off, and records at or below that
 * sequence number are never written twice.
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import path from "node:path";
import type { ChannelRecord } from "../domain/equipment/channel.ts";

/** Column headers: BDF names with units, then the station's own columns. */
export const TRACE_COLUMNS = [
  "Record Index / 1",
  "Unix Time / s",
  "Test Time / s",
  "Phase Index / 1",
  "Step Count / 1",
  "Cycle Count / 1",
  "Voltage / V",
  "Current / A",
  "Temperature / degC",
  "Charging Capacity / Ah",
  "Discharging Capacity / Ah",
  "Charging Energy / Wh",
  "Discharging Energy / Wh",
  "Flags / 1",
] as const;

/** A record as the station keeps it: the cycler's record plus which phase (program) of the recipe it belongs to. */
export interface TraceRecord extends ChannelRecord {
  phaseIndex: number;
}

const HEADER = `${TRACE_COLUMNS.join(",")}\n`;

function toLine(r: TraceRecord): string {
  return [
    r.seq.toString(), r.unixTimeS.toFixed(3), r.testTimeS.toFixed(3), r.phaseIndex, r.stepIndex, r.cycle,
    r.voltageV.toFixed(5), r.currentA.toFixed(5), r.temperatureC.toFixed(2),
    r.chargeAh.toFixed(6), r.dischargeAh.toFixed(6), r.chargeWh.toFixed(6), r.dischargeWh.toFixed(6), r.flags,
  ].join(",");
}

export class TraceFormatError extends Error {
  constructor(readonly file: string, readonly line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.name = "TraceFormatError";
  }
}

function parseLine(line: string, file: string, lineNo: number): TraceRecord {
  const f = line.split(",");
  if (f.length !== TRACE_COLUMNS.length) throw new TraceFormatError(file, lineNo, `expected ${TRACE_COLUMNS.length} columns, found ${f.length}`);
  const n = f.map(Number);
  if (n.some((x, i) => i > 0 && !Number.isFinite(x))) throw new TraceFormatError(file, lineNo, "non-numeric value");
  return {
    seq: BigInt(f[0]), unixTimeS: n[1], testTimeS: n[2], phaseIndex: n[3], stepIndex: n[4], cycle: n[5],
    voltageV: n[6], currentA: n[7], temperatureC: n[8], chargeAh: n[9], dischargeAh: n[10], chargeWh: n[11], dischargeWh: n[12], flags: n[13],
  };
}

/** A batch could not be written (disk full, I/O error): nothing of it is on disk, lastSeq() is unchanged. */
export class TraceWriteError extends Error {
  constructor(readonly file: string, readonly firstSeq: bigint, override readonly cause: Error) {
    super(`${file}: records from seq ${firstSeq} not written (${cause.message}); the trace still ends at the previous batch`);
    this.name = "TraceWriteError";
  }
}

export interface TraceWriter {
  readonly file: string;
  /** sequence number of the last record on disk (-1n when none) */
  lastSeq(): bigint;
  /** appends the records newer than lastSeq(), all or none (TraceWriteError); returns how many were new */
  append(records: TraceRecord[]): number;
  close(): void;
}

/** Opens (or creates) a trace for appending, repairing a torn last line first. */
export function openTrace(file: string): TraceWriter {
  mkdirSync(path.dirname(file), { recursive: true });
  const fresh = !existsSync(file);
  const fd = openSync(file, fresh ? "w+" : "r+");
  let size = fstatSync(fd).size;
  let last = -1n;
  if (fresh || size === 0) {
    writeSync(fd, HEADER, 0);
    size = Buffer.byteLength(HEADER);
  } else {
    // Read the tail only: the last complete line holds the last sequence number.
    const tailLen = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(tailLen);
    readSync(fd, buf, 0, tailLen, size - tailLen);
    const tail = buf.toString("utf8");
    const end = tail.lastIndexOf("\n");
    if (end < 0) throw new TraceFormatError(file, 0, "no complete line in the last 64 KiB");
    if (end !== tail.length - 1) {
      size = size - tailLen + end + 1;
      ftruncateSync(fd, size); // torn write: drop the partial line
    }
    const lines = tail.slice(0, end).split("\n");
    const lastLine = lines[lines.length - 1];
    if (lastLine !== HEADER.trimEnd()) last = BigInt(lastLine.slice(0, lastLine.indexOf(",")));
  }
  let position = size;
  return {
    file,
    lastSeq: () => last,
    append(records) {
      const fresh = records.filter((r) => r.seq > last);
      if (fresh.length === 0) return 0;
      const bytes = Buffer.from(`${fresh.map(toLine).join("\n")}\n`);
      // All or nothing: a full disk gives a short write first, then ENOSPC. Loop over short writes; on an error cut
      // the file back to where this batch began, so no torn line stays mid-file and lastSeq() never claims a record
      // that is not on disk (the caller retries from the cycler's buffer).
      let written = 0;
      try {
        while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
      } catch (e) {
        try {
          ftruncateSync(fd, position);
        } catch {
          // the file keeps a torn tail; openTrace() repairs it at the next start
        }
        throw new TraceWriteError(file, fresh[0].seq, e as Error);
      }
      position += written;
      last = fresh[fresh.length - 1].seq;
      return fresh.length;
    },
    close: () => closeSync(fd),
  };
}

/** Reads a whole trace back (analysis, export). */
export function readTrace(file: string): TraceRecord[] {
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n");
  if (lines[0] !== HEADER.trimEnd()) throw new TraceFormatError(file, 1, "not an AXVIAM trace header");
  const out: TraceRecord[] = [];
  for (let i = 1; i < lines.length; i++) if (lines[i] !== "") out.push(parseLine(lines[i], file, i + 1));
  return out;
}

/**
 * Complete records written after `byteOffset` (0 = from the start), and the offset to continue from: lets a reader
 * follow a trace that is being appended to without reading it again (a line still being written is left for later).
 * At most `maxBytes` are read (whole lines only; a caller catching up on a long trace continues from nextOffset).
 */
export function readTraceFrom(file: string, byteOffset: number, maxBytes = Infinity): { records: TraceRecord[]; nextOffset: number } {
  if (!existsSync(file)) return { records: [], nextOffset: byteOffset };
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(byteOffset, Buffer.byteLength(HEADER));
    if (size <= start) return { records: [], nextOffset: Math.max(byteOffset, start) };
    const buf = Buffer.alloc(Math.min(size - start, maxBytes));
    readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString("utf8");
    const end = text.lastIndexOf("\n");
    if (end < 0) return { records: [], nextOffset: start };
    const records = text.slice(0, end).split("\n").filter((l) => l !== "").map((l) => parseLine(l, file, 0));
    return { records, nextOffset: start + Buffer.byteLength(text.slice(0, end + 1)) };
  } finally {
    closeSync(fd);
  }
}

/** The last `maxRecords` records of a trace, read from its end (a bounded read, however long the run). */
export function readTraceTail(file: string, maxRecords: number): TraceRecord[] {
  if (!existsSync(file) || maxRecords <= 0) return [];
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const headerBytes = Buffer.byteLength(HEADER);
    let start = size;
    let lines: string[] = [];
    // Grow the window from the end until it holds enough complete lines or reaches the header.
    for (let chunk = 64 * 1024; ; chunk *= 2) {
      start = Math.max(headerBytes, size - chunk);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      const text = buf.toString("utf8");
      const complete = text.slice(0, text.lastIndexOf("\n") + 1);
      lines = complete.split("\n").filter((l) => l !== "");
      if (start > headerBytes) lines = lines.slice(1); // the first line of the window may be cut
      if (lines.length >= maxRecords || start === headerBytes) break;
    }
    return lines.slice(-maxRecords).map((l) => parseLine(l, file, 0));
  } finally {
    closeSync(fd);
  }
}
