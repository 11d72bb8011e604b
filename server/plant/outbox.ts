/**
 * Persistent outbox for plant messages that must arrive (grades, alarm changes): a message is on disk (fsynced)
 * before `add` resolves and leaves only when the broker has acknowledged it, so a broker outage of any length and
 * a station restart lose nothing. Append-only JSON lines, partitioned so no write rewrites the world:
 *   <dir>/segment-<n>.jsonl   messages, one per line, at most SEGMENT_MESSAGES per segment
 *   <dir>/segment-<n>.acks    ids the broker acknowledged (no fsync: a lost ack only means a harmless re-send)
 *   <dir>/marks.txt           keys of work already turned into messages (e.g. a finished lot's grades)
 * A segment whose every message is acknowledged is deleted. A torn last line (crash mid-append) is skipped: its
 * `add` never resolved, so nothing was promised about it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { appendFile, open, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";

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
  size(): number;
  /** the broker has it: forget the message */
  ack(id: string): Promise<void>;
  hasMark(key: string): boolean;
  mark(key: string): Promise<void>;
  close(): Promise<void>;
}

const SEGMENT_MESSAGES = 2000;

interface Segment {
  n: number;
  unacked: number;
}

const segmentName = (n: number, ext: "jsonl" | "acks") => `segment-${String(n).padStart(8, "0")}.${ext}`;

function readLines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0);
}

export async function openOutbox(dir: string): Promise<Outbox> {
  mkdirSync(dir, { recursive: true });
  const pending = new Map<string, { msg: OutboxMessage; segment: Segment }>();
  const segments: Segment[] = [];
  const marks = new Set(readLines(path.join(dir, "marks.txt")));

  const numbers = readdirSync(dir)
    .map((f) => /^segment-(\d+)\.jsonl$/.exec(f)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  for (const n of numbers) {
    const acked = new Set(readLines(path.join(dir, segmentName(n, "acks"))));
    const seg: Segment = { n, unacked: 0 };
    for (const line of readLines(path.join(dir, segmentName(n, "jsonl")))) {
      let msg: OutboxMessage;
      try {
        msg = JSON.parse(line) as OutboxMessage;
      } catch {
        continue;
      }
      if (acked.has(msg.id) || pending.has(msg.id)) continue;
      pending.set(msg.id, { msg, segment: seg });
      seg.unacked++;
    }
    segments.push(seg);
  }

  let current: { seg: Segment; fh: FileHandle; count: number } | undefined;
  // one write at a time, in order
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };

  const dropIfDone = async (seg: Segment) => {
    if (seg.unacked > 0 || current?.seg === seg) return;
    segments.splice(segments.indexOf(seg), 1);
    await unlink(path.join(dir, segmentName(seg.n, "jsonl"))).catch(() => undefined);
    await unlink(path.join(dir, segmentName(seg.n, "acks"))).catch(() => undefined);
  };
  // segments left fully acknowledged by a previous run
  for (const seg of [...segments]) await dropIfDone(seg);

  const rollIfFull = async () => {
    if (current && current.count < SEGMENT_MESSAGES) return current;
    if (current) {
      const old = current.seg;
      await current.fh.close();
      current = undefined;
      await dropIfDone(old);
    }
    const n = (segments.at(-1)?.n ?? 0) + 1;
    const seg: Segment = { n, unacked: 0 };
    segments.push(seg);
    current = { seg, fh: await open(path.join(dir, segmentName(n, "jsonl")), "a"), count: 0 };
    return current;
  };

  return {
    add: (messages) =>
      serial(async () => {
        const seen = new Set<string>();
        const fresh = messages.filter((m) => !pending.has(m.id) && !seen.has(m.id) && seen.add(m.id));
        for (let i = 0; i < fresh.length; ) {
          const cur = await rollIfFull();
          const batch = fresh.slice(i, i + SEGMENT_MESSAGES - cur.count);
          await cur.fh.write(batch.map((m) => `${JSON.stringify(m)}\n`).join(""));
          await cur.fh.datasync();
          for (const m of batch) {
            cur.seg.unacked++;
            pending.set(m.id, { msg: m, segment: cur.seg });
          }
          cur.count += batch.length;
          i += batch.length;
        }
      }),
    pending(max = Infinity, skip = () => false) {
      const out: OutboxMessage[] = [];
      for (const [id, p] of pending) {
        if (out.length >= max) break;
        if (!skip(id)) out.push(p.msg);
      }
      return out;
    },
    size: () => pending.size,
    ack: (id) =>
      serial(async () => {
        const p = pending.get(id);
        if (!p) return;
        pending.delete(id);
        p.segment.unacked--;
        await appendFile(path.join(dir, segmentName(p.segment.n, "acks")), `${id}\n`);
        await dropIfDone(p.segment);
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
