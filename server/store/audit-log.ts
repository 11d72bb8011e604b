/**
 * Append-only, hash-chained audit log (DESIGN §8): one JSON line per entry in `<dataDir>/audit/audit.log`.
 *   hash = sha256(prevHash + canonicalJson(entry without hash)),  prevHash of the first entry = 64 × "0".
 * Editing, deleting or reordering any line breaks the chain at that line; verifyAuditLog names it. Truncating
 * the tail is not detectable from the file alone (the last surviving line still verifies): an external copy of
 * the latest hash (e.g. in a backup or the plant database) anchors the end.
 */
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { canonicalJson } from "../certificates/canonical-json.ts";

export const GENESIS_HASH = "0".repeat(64);

export interface AuditEntry {
  seq: number;
  at: string;
  /** username, or "station" for state changes the station made itself */
  actor: string;
  /** noun-first verb: "auth.login", "lot.start", "alarm.acknowledge", "run.state" … */
  action: string;
  /** what was acted on: lot id, alarm id, username, recipe name … */
  target: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditQuery {
  actor?: string;
  /** prefix match: "lot" finds "lot.start" and "lot.state" */
  action?: string;
  /** substring match */
  target?: string;
  sinceIso?: string;
  untilIso?: string;
  /** newest first; default 200, max 5000 */
  limit?: number;
}

export interface AuditLog {
  readonly file: string;
  append(e: { actor: string; action: string; target: string; details?: Record<string, unknown> }): AuditEntry;
  query(q?: AuditQuery): AuditEntry[];
  /** the newest entry of this exact action for every target (one pass over the file) */
  latest(action: string): Map<string, AuditEntry>;
}

export type AuditVerification = { ok: true; entries: number; lastHash: string } | { ok: false; line: number; reason: string };

export function entryHash(prevHash: string, entry: Omit<AuditEntry, "hash">): string {
  return createHash("sha256").update(prevHash + canonicalJson(entry)).digest("hex");
}

function readLines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
}

export function auditFile(dataDir: string): string {
  return path.join(dataDir, "audit", "audit.log");
}

/**
 * Open (or create) the log. Refuses to append to a log whose chain is already broken: new entries would be
 * chained onto a tampered history and make it look continuous.
 */
export function openAuditLog(file: string, now: () => Date = () => new Date()): AuditLog {
  mkdirSync(path.dirname(file), { recursive: true });
  const check = verifyAuditLog(file);
  if (!check.ok) throw new Error(`${file}: audit chain broken at line ${check.line} (${check.reason}); keep the file as evidence and start a new log`);
  let seq = check.entries;
  let lastHash = check.lastHash;
  return {
    file,
    append({ actor, action, target, details = {} }) {
      const body: Omit<AuditEntry, "hash"> = { seq: seq + 1, at: now().toISOString(), actor, action, target, details, prevHash: lastHash };
      const entry: AuditEntry = { ...body, hash: entryHash(lastHash, body) };
      // Synchronous append: entries reach the file in seq order even when callers interleave.
      appendFileSync(file, `${JSON.stringify(entry)}\n`);
      seq = entry.seq;
      lastHash = entry.hash;
      return entry;
    },
    query(q = {}) {
      const limit = Math.min(q.limit ?? 200, 5000);
      const out: AuditEntry[] = [];
      const lines = readLines(file);
      for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
        const e = JSON.parse(lines[i]) as AuditEntry;
        if (q.actor && e.actor !== q.actor) continue;
        if (q.action && !(e.action === q.action || e.action.startsWith(`${q.action}.`))) continue;
        if (q.target && !e.target.includes(q.target)) continue;
        if (q.sinceIso && e.at < q.sinceIso) continue;
        if (q.untilIso && e.at > q.untilIso) continue;
        out.push(e);
      }
      return out;
    },
    latest(action) {
      const out = new Map<string, AuditEntry>();
      for (const line of readLines(file)) {
        if (!line.includes(`"action":${JSON.stringify(action)}`)) continue; // most lines are other actions: skip the parse
        const e = JSON.parse(line) as AuditEntry;
        if (e.action === action) out.set(e.target, e);
      }
      return out;
    },
  };
}

/** Walk the chain; the first line (1-based) whose content, order or link is wrong is reported. */
export function verifyAuditLog(file: string): AuditVerification {
  let prevHash = GENESIS_HASH;
  const lines = readLines(file);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let e: AuditEntry;
    try {
      e = JSON.parse(lines[i]) as AuditEntry;
    } catch {
      return { ok: false, line, reason: "not a JSON entry" };
    }
    if (e.seq !== line) return { ok: false, line, reason: `sequence ${e.seq} where ${line} was expected (line deleted, inserted or moved)` };
    if (e.prevHash !== prevHash) return { ok: false, line, reason: "prevHash does not match the previous entry's hash" };
    const { hash, ...body } = e;
    if (entryHash(prevHash, body) !== hash) return { ok: false, line, reason: "content does not match its hash (entry edited)" };
    prevHash = hash;
  }
  return { ok: true, entries: lines.length, lastHash: prevHash };
}
