/**
 * Holds the latest view of every channel and hands out coalesced deltas, leading edge first: a channel that was
 * not sent within the coalescing period goes out at once; one sent recently waits until its period is over and
 * then goes out once with its newest value. So a change is seen without delay, and a client sees each channel at
 * most once per period however fast the equipment reports.
 */
import type { ChannelView, EquipmentLinkView } from "../api/events.ts";

export interface LiveHub {
  upsert(view: ChannelView): void;
  get(key: string): ChannelView | undefined;
  setLink(link: EquipmentLinkView): void;
  channels(): ChannelView[];
  links(): EquipmentLinkView[];
  /**
   * Changed channels whose last sending is at least periodMs before nowMs (they count as sent now), and when the
   * earliest of the changed channels still held back becomes due.
   */
  takeDue(nowMs: number, periodMs: number): { due: ChannelView[]; nextDueMs?: number };
  /** some channel changed (to schedule a flush) */
  onChange(fn: () => void): void;
  onLink(fn: (l: EquipmentLinkView) => void): void;
}

/** what a tile or the detail screen shows: a change in any of these is sent */
const LIVE_FIELDS = ["state", "voltageV", "currentA", "temperatureC", "stepIndex", "cycle", "alarmCode", "serial", "runId", "progress", "socPercent", "etaS", "stepCount", "stepMode"] as const;

export function createLiveHub(): LiveHub {
  const views = new Map<string, ChannelView>();
  const changed = new Set<string>();
  const lastSentMs = new Map<string, number>();
  const links = new Map<string, EquipmentLinkView>();
  const linkListeners: ((l: EquipmentLinkView) => void)[] = [];
  const changeListeners: (() => void)[] = [];
  return {
    upsert(view) {
      const old = views.get(view.key);
      views.set(view.key, view);
      if (!old || LIVE_FIELDS.some((f) => old[f] !== view[f])) {
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
    takeDue(nowMs, periodMs) {
      const due: ChannelView[] = [];
      let nextDueMs: number | undefined;
      for (const key of changed) {
        const last = lastSentMs.get(key);
        if (last === undefined || nowMs - last >= periodMs) {
          due.push(views.get(key)!);
          lastSentMs.set(key, nowMs);
          changed.delete(key);
        } else nextDueMs = Math.min(nextDueMs ?? Infinity, last + periodMs);
      }
      return { due, nextDueMs };
    },
    onChange: (fn) => void changeListeners.push(fn),
    onLink: (fn) => void linkListeners.push(fn),
  };
}
