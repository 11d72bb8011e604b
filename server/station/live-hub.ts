/**
 * Holds the latest view of every channel and hands out what changed, leading edge first and rate-limited per
 * channel: a changed channel goes out on the next flush unless it already went out twice within the last second
 * (then it waits for that second to pass and goes out once, with its newest value). So a state change is seen at
 * once, even on a channel whose values are streaming, and a client never sees one channel more than twice a second.
 *
 * "Changed" is judged against what was last sent, with deadbands on the analog values (as SCADA points have): an
 * idle channel whose reading only wanders in the instrument's noise is not re-sent every poll. The deadbands are
 * well below what an operator reads off a tile; a slow drift is sent once it adds up to a deadband.
 */
import type { ChannelView, EquipmentLinkView } from "../api/events.ts";

export interface LiveHub {
  upsert(view: ChannelView): void;
  get(key: string): ChannelView | undefined;
  setLink(link: EquipmentLinkView): void;
  channels(): ChannelView[];
  links(): EquipmentLinkView[];
  /**
   * Changed channels that may go out at nowMs under the rate limit (they count as sent now), and when the earliest
   * of the changed channels still held back may go out.
   */
  takeDue(nowMs: number): { due: ChannelView[]; nextDueMs?: number };
  /** some channel changed (to schedule a flush) */
  onChange(fn: () => void): void;
  onLink(fn: (l: EquipmentLinkView) => void): void;
}

/** at most this many sendings of one channel … */
export const LIVE_MAX_SENDS = 2;
/** … within this window [ms] */
export const LIVE_WINDOW_MS = 1000;

/** what a tile or the detail screen shows besides the analog values: any change is sent */
const DISCRETE_FIELDS = ["state", "stepIndex", "cycle", "alarmCode", "serial", "runId", "stepCount", "stepMode"] as const;
/** analog values and their deadbands (voltage 0.5 mV, current 1 mA, temperature 0.05 K, SOC 0.5 %, progress 0.1 %, ETA 30 s) */
const DEADBANDS = { voltageV: 0.0005, currentA: 0.001, temperatureC: 0.05, socPercent: 0.5, progress: 0.001, etaS: 30 } as const;

function differs(sent: ChannelView, now: ChannelView): boolean {
  if (DISCRETE_FIELDS.some((f) => sent[f] !== now[f])) return true;
  for (const [f, band] of Object.entries(DEADBANDS) as [keyof typeof DEADBANDS, number][]) {
    const a = sent[f];
    const b = now[f];
    if (a === b) continue;
    // appearing, disappearing, or turning NaN (an impossible reading) is a change whatever its size
    if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || Math.abs(a - b) >= band) return true;
  }
  return false;
}

export function createLiveHub(): LiveHub {
  const views = new Map<string, ChannelView>();
  const changed = new Set<string>();
  const lastSent = new Map<string, ChannelView>();
  /** the last LIVE_MAX_SENDS sending times per channel, oldest first */
  const sentAt = new Map<string, number[]>();
  const links = new Map<string, EquipmentLinkView>();
  const linkListeners: ((l: EquipmentLinkView) => void)[] = [];
  const changeListeners: (() => void)[] = [];
  return {
    upsert(view) {
      views.set(view.key, view);
      const sent = lastSent.get(view.key);
      if (!changed.has(view.key) && (!sent || differs(sent, view))) {
        changed.add(view.key);
        changeListeners.forEach((fn) => fn());
      }
    },
    get: (key) => views.get(key),
    setLink(link) {
      const old = links.get(link.equipmentId);
      links.set(link.equipmentId, link);
      if (!old || old.status !== link.status || old.reason !== link.reason) linkListeners.forEach((fn) => fn(link));
    },
    channels: () => [...views.values()].sort((a, b) => a.key.localeCompare(b.key, "en", { numeric: true })),
    links: () => [...links.values()],
    takeDue(nowMs) {
      const due: ChannelView[] = [];
      let nextDueMs: number | undefined;
      for (const key of changed) {
        const times = sentAt.get(key) ?? [];
        const windowOpensMs = times.length < LIVE_MAX_SENDS ? -Infinity : times[0] + LIVE_WINDOW_MS;
        if (nowMs < windowOpensMs) {
          nextDueMs = Math.min(nextDueMs ?? Infinity, windowOpensMs);
          continue;
        }
        const view = views.get(key)!;
        due.push(view);
        lastSent.set(key, view);
        sentAt.set(key, [...times, nowMs].slice(-LIVE_MAX_SENDS));
        changed.delete(key);
      }
      return { due, nextDueMs };
    },
    onChange: (fn) => void changeListeners.push(fn),
    onLink: (fn) => void linkListeners.push(fn),
  };
}
