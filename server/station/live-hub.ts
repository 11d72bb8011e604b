/**
 * Holds the latest view of every channel and hands out coalesced deltas: whatever changes between two flushes
 * goes out once, so a client sees each channel at most once per flush period however fast the equipment reports.
 */
import type { ChannelView, EquipmentLinkView } from "../api/events.ts";

export interface LiveHub {
  upsert(view: ChannelView): void;
  setLink(link: EquipmentLinkView): void;
  channels(): ChannelView[];
  links(): EquipmentLinkView[];
  /** changed channels since the last call, then forgotten */
  takeChanged(): ChannelView[];
  onLink(fn: (l: EquipmentLinkView) => void): void;
}

const LIVE_FIELDS = ["state", "voltageV", "currentA", "temperatureC", "stepIndex", "cycle", "alarmCode", "serial", "runId", "progress"] as const;

export function createLiveHub(): LiveHub {
  const views = new Map<string, ChannelView>();
  const changed = new Set<string>();
  const links = new Map<string, EquipmentLinkView>();
  const linkListeners: ((l: EquipmentLinkView) => void)[] = [];
  return {
    upsert(view) {
      const old = views.get(view.key);
      views.set(view.key, view);
      if (!old || LIVE_FIELDS.some((f) => old[f] !== view[f])) changed.add(view.key);
    },
    setLink(link) {
      const old = links.get(link.equipmentId);
      links.set(link.equipmentId, link);
      if (!old || old.status !== link.status || old.reason !== link.reason) linkListeners.forEach((fn) => fn(link));
    },
    channels: () => [...views.values()].sort((a, b) => a.key.localeCompare(b.key, "en", { numeric: true })),
    links: () => [...links.values()],
    takeChanged() {
      const out = [...changed].map((k) => views.get(k)!);
      changed.clear();
      return out;
    },
    onLink: (fn) => void linkListeners.push(fn),
  };
}
