/**
 * Alarms after ISA-18.2: an alarm is active or returned (condition cleared) and acknowledged or not; it may be
 * shelved with a reason until an expiry. State changes go to listeners (live stream, audit) and to disk.
 */
import { randomUUID } from "node:crypto";
import type { Low } from "lowdb";

export type AlarmSeverity = "high" | "medium" | "low";
/** ISA-18.2 states: unacknowledged / acknowledged while active; returned-unacknowledged after the condition cleared */
export type AlarmState = "active-unack" | "active-ack" | "returned-unack" | "normal";

export interface Alarm {
  id: string;
  /** what it is about: `${cyclerId}/${channel}`, an equipment id, or "station" */
  source: string;
  /** stable condition key: one alarm per source+condition */
  condition: string;
  severity: AlarmSeverity;
  message: string;
  state: AlarmState;
  raisedAt: string;
  clearedAt?: string;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  shelved?: { by: string; reason: string; untilIso: string };
}

export interface AlarmFile {
  alarms: Alarm[];
}

export interface AlarmManager {
  raise(a: { source: string; condition: string; severity: AlarmSeverity; message: string }): Alarm;
  /** the condition is gone (ISA-18.2 "return to normal") */
  clear(source: string, condition: string): void;
  /** every open condition of a source whose key starts with prefix is gone */
  clearPrefixed(source: string, prefix: string): void;
  acknowledge(id: string, by: string): Alarm;
  shelve(id: string, by: string, reason: string, untilIso: string): Alarm;
  active(): Alarm[];
  history(limit?: number): Alarm[];
  onChange(fn: (a: Alarm) => void): void;
}

export class AlarmNotFoundError extends Error {
  constructor(id: string) {
    super(`no alarm with id ${id}`);
    this.name = "AlarmNotFoundError";
  }
}

const MAX_HISTORY = 5000;

export function createAlarmManager(db: Low<AlarmFile>, now: () => Date = () => new Date()): AlarmManager {
  const listeners: ((a: Alarm) => void)[] = [];
  // Not-normal alarms by source: the monitors ask about every channel on every poll, which must not scan history.
  const openBySource = new Map<string, Set<Alarm>>();
  const index = (a: Alarm) => {
    const set = openBySource.get(a.source) ?? new Set<Alarm>();
    if (a.state === "normal") set.delete(a);
    else set.add(a);
    if (set.size === 0) openBySource.delete(a.source);
    else openBySource.set(a.source, set);
  };
  db.data.alarms.forEach(index);
  const changed = (a: Alarm) => {
    index(a);
    if (db.data.alarms.length > MAX_HISTORY) db.data.alarms = db.data.alarms.filter((x) => x.state !== "normal").concat(db.data.alarms.filter((x) => x.state === "normal").slice(-MAX_HISTORY / 2));
    void db.write();
    listeners.forEach((fn) => fn(a));
    return a;
  };
  const openOf = (source: string) => [...(openBySource.get(source) ?? [])];
  const open = (source: string, condition: string) => openOf(source).find((a) => a.condition === condition);
  const byId = (id: string) => {
    const a = db.data.alarms.find((x) => x.id === id);
    if (!a) throw new AlarmNotFoundError(id);
    return a;
  };
  return {
    raise({ source, condition, severity, message }) {
      const existing = open(source, condition);
      if (existing && existing.state !== "returned-unack") return existing;
      if (existing) {
        existing.state = "active-unack";
        existing.message = message;
        delete existing.clearedAt;
        return changed(existing);
      }
      const a: Alarm = { id: randomUUID(), source, condition, severity, message, state: "active-unack", raisedAt: now().toISOString() };
      db.data.alarms.push(a);
      return changed(a);
    },
    clear(source, condition) {
      const a = open(source, condition);
      if (!a || a.state === "returned-unack") return;
      a.clearedAt = now().toISOString();
      a.state = a.state === "active-ack" ? "normal" : "returned-unack";
      changed(a);
    },
    clearPrefixed(source, prefix) {
      for (const a of openOf(source)) if (a.condition.startsWith(prefix) && a.state !== "returned-unack") this.clear(source, a.condition);
    },
    acknowledge(id, by) {
      const a = byId(id);
      if (a.state === "active-unack") a.state = "active-ack";
      else if (a.state === "returned-unack") a.state = "normal";
      else return a;
      a.acknowledgedAt = now().toISOString();
      a.acknowledgedBy = by;
      return changed(a);
    },
    shelve(id, by, reason, untilIso) {
      const a = byId(id);
      if (!reason.trim()) throw new Error("shelving needs a reason");
      if (!(Date.parse(untilIso) > now().getTime())) throw new Error(`shelve expiry ${untilIso} is not in the future`);
      a.shelved = { by, reason, untilIso };
      return changed(a);
    },
    active() {
      const t = now().getTime();
      return db.data.alarms.filter((a) => a.state !== "normal" && !(a.shelved && Date.parse(a.shelved.untilIso) > t));
    },
    history: (limit = 500) => db.data.alarms.slice(-limit).reverse(),
    onChange: (fn) => void listeners.push(fn),
  };
}
