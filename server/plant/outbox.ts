/**
 * Persistent outbox for plant messages that must arrive (grades, alarm changes): a message is on disk (fsynced)
 * before `add` resolves and leaves only when the PLANT confirms it has committed it to its database (a receipt),
 * so a broker outage or crash of any length and a station restart lose nothing. Append-only JSON lines, partitioned
 * so no write rewrites the world:
 *   <dir>/segment-<n>.jsonl   messages, one per line, at most SEGMENT_MESSAGES per segment
 *   <dir>/segment-<n>.acks    ids the plant confirmed (no fsync: a lost line only means a harmless re-send)
 *   <dir>/marks.txt           keys of work already turned into messages (a finished lot's grades), one line per lot
 * A segment whose every message is confirmed is deleted. At open, a segment with few live messages left (a message
 * the plant keeps refusing) has them carried into the new segment and is deleted, so such stragglers do not pin
 * whole segments. Crash safety: a line counts only when its newline is on disk; a torn last line (crash mid-append)
 * is cut off at open, so nothing is appended to it — its `add`/`confirm`/`mark` never completed, so nothing was
 * promised about it. Files are deleted acks-first, so a crash mid-delete can only bring messages back (re-sent).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, unlinkSync } from "node:fs";
import { appendFile, open, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { nodeStoreFs, syncFolder } from "../store/durable-file.ts";

export interface OutboxMessage {
  /** deterministic message id; the receiver upserts on it */
  id: string;
  topic: string;
  payload: string;
}

export interface Outbox {
  /** durable when the promise resolves; ids already pending are skipped */
  add(messages: OutboxMessage[]): Promise<void>;
  /** up to `max` pending messages, oldest first, leaving out those `skip` names (e.g. already in flight) */
  pending(max?: number, skip?: (id: string) => boolean): OutboxMessage[];
  has(id: string): boolean;
  size(): number;
  /** the plant has committed these: forget them; ids the outbox does not hold are ignored. Resolves to how many it held. */
  confirm(ids: readonly string[]): Promise<number>;
  hasMark(key: string): boolean;
  mark(key: string): Promise<void>;
  close(): Promise<void>;
}

const SEGMENT_MESSAGES = 2000;
/** a closed segment whose live messages are fewer than 1/SPARSE of its lines is compacted at open */
const SPARSE = 4;

interface Segment {
  n: number;
  unacked: number;
}

const segmentName = (n: number, ext: "jsonl" | "acks") => `segment-${String(n).padStart(8, "0")}.${ext}`;

/** The file's complete (newline-terminated) lines; a torn tail is cut off the file so later appends start clean. */
function readLines(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, "utf8");
  const end = text.lastIndexOf("\n") + 1;
  if (end < text.length) truncateSync(file, Buffer.byteLength(text.slice(0, end)));
  return text.slice(0, end).split("\n").filter((l) => l.length > 0);
}

function parseMessage(line: string): OutboxMessage | undefined {
  try {
    const m = JSON.parse(line) as Partial<OutboxMessage>;
    return typeof m.id === "string" && typeof m.topic === "string" && typeof m.payload === "string" ? (m as OutboxMessage) : undefined;
  } catch {
    return undefined;
  }
}

export async function openOutbox(dir: string): Promise<Outbox> {
  mkdirSync(dir, { recursive: true });
  const pending = new Map<string, { msg: OutboxMessage; segment: Segment }>();
  const segments: Segment[] = [];
  const marks = new Set(readLines(path.join(dir, "marks.txt")));

  const files = readdirSync(dir);
  const numbers = (ext: string) =>
    files
      .map((f) => new RegExp(`^segment-(\\d+)\\.${ext}$`).exec(f)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  const messageSegments = numbers("jsonl");
  // acks left by a crash between the two unlinks of a deleted segment
  for (const n of numbers("acks")) if (!messageSegments.includes(n)) unlinkSync(path.join(dir, segmentName(n, "acks")));

  const sparse: { seg: Segment; live: OutboxMessage[] }[] = [];
  for (const n of messageSegments) {
    const acked = new Set(readLines(path.join(dir, segmentName(n, "acks"))));
    const seg: Segment = { n, unacked: 0 };
    const lines = readLines(path.join(dir, segmentName(n, "jsonl")));
    const live: OutboxMessage[] = [];
    for (const line of lines) {
      const msg = parseMessage(line);
      if (!msg || acked.has(msg.id) || pending.has(msg.id)) continue;
      pending.set(msg.id, { msg, segment: seg });
      seg.unacked++;
      live.push(msg);
    }
    segments.push(seg);
    if (live.length * SPARSE < lines.length) sparse.push({ seg, live });
  }

  let current: { seg: Segment; fh: FileHandle; count: number } | undefined;
  // one write at a time, in order
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };

  const removeSegment = (seg: Segment) => {
    segments.splice(segments.indexOf(seg), 1);
    for (const ext of ["acks", "jsonl"] as const) {
      const file = path.join(dir, segmentName(seg.n, ext));
      if (existsSync(file)) unlinkSync(file);
    }
  };
  const dropIfDone = (seg: Segment) => {
    if (seg.unacked === 0 && current?.seg !== seg) removeSegment(seg);
  };

  const rollIfFull = async () => {
    if (current && current.count < SEGMENT_MESSAGES) return current;
    if (current) {
      const old = current.seg;
      await current.fh.close();
      current = undefined;
      dropIfDone(old);
    }
    const n = (segments.at(-1)?.n ?? 0) + 1;
    const seg: Segment = { n, unacked: 0 };
    segments.push(seg);
    current = { seg, fh: await open(path.join(dir, segmentName(n, "jsonl")), "a"), count: 0 };
    return current;
  };

  /** Appends messages durably to the current segment(s) and files them under it. */
  const append = async (messages: OutboxMessage[]) => {
    for (let i = 0; i < messages.length; ) {
      const cur = await rollIfFull();
      const batch = messages.slice(i, i + SEGMENT_MESSAGES - cur.count);
      await cur.fh.write(batch.map((m) => `${JSON.stringify(m)}\n`).join(""));
      await cur.fh.datasync();
      for (const m of batch) {
        cur.seg.unacked++;
        pending.set(m.id, { msg: m, segment: cur.seg });
      }
      cur.count += batch.length;
      i += batch.length;
    }
  };

  // segments left fully confirmed by a previous run
  for (const seg of [...segments]) dropIfDone(seg);
  // stragglers of sparse segments move to a new segment (durable, with its folder entry) before the old files go
  const carried = sparse.filter((s) => s.live.length > 0);
  if (carried.length > 0) {
    for (const { seg, live } of carried) {
      seg.unacked -= live.length;
      for (const m of live) pending.delete(m.id);
    }
    await append(carried.flatMap((s) => s.live));
    syncFolder(nodeStoreFs, dir);
    for (const { seg } of carried) removeSegment(seg);
  }

  return {
    add: (messages) =>
      serial(async () => {
        const seen = new Set<string>();
        await append(messages.filter((m) => !pending.has(m.id) && !seen.has(m.id) && seen.add(m.id)));
      }),
    pending(max = Infinity, skip = () => false) {
      const out: OutboxMessage[] = [];
      for (const [id, p] of pending) {
        if (out.length >= max) break;
        if (!skip(id)) out.push(p.msg);
      }
      return out;
    },
    has: (id) => pending.has(id),
    size: () => pending.size,
    confirm: (ids) =>
      serial(async () => {
        const bySegment = new Map<Segment, string[]>();
        for (const id of ids) {
          const p = pending.get(id);
          if (!p) continue;
          pending.delete(id);
          p.segment.unacked--;
          const list = bySegment.get(p.segment) ?? [];
          list.push(id);
          bySegment.set(p.segment, list);
        }
        for (const [seg, segIds] of bySegment) {
          if (seg.unacked === 0 && current?.seg !== seg) removeSegment(seg);
          else await appendFile(path.join(dir, segmentName(seg.n, "acks")), segIds.map((id) => `${id}\n`).join(""));
        }
        return [...bySegment.values()].reduce((sum, x) => sum + x.length, 0);
      }),
    hasMark: (key) => marks.has(key),
    mark: (key) =>
      serial(async () => {
        if (marks.has(key)) return;
        await appendFile(path.join(dir, "marks.txt"), `${key}\n`);
        marks.add(key);
      }),
    close: () =>
      serial(async () => {
        await current?.fh.close();
        current = undefined;
      }),
  };
}
