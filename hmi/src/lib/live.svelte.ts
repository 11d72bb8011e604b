/**
 * Live station state for the HMI: one authenticated socket (the session cookie rides on the handshake);
 * snapshot then deltas on every (re)join — channels, lots, active alarms (shared state module, Svelte 5 runes).
 */
import { io, type Socket } from "socket.io-client";
import type { ChannelView, ClientToServerEvents, EquipmentLinkView, LotUpdate, ServerToClientEvents, SocketResult } from "../../../server/api/events.ts";
import type { Alarm } from "../../../server/station/alarms.ts";
import type { Lot } from "../../../server/station/run.types.ts";

/** channel keys in natural order: cycler-1/2 before cycler-1/10 */
const keyOrder = new Intl.Collator("en", { numeric: true });

class LiveStore {
  channels = $state<Record<string, ChannelView>>({});
  /** every channel key in grid order; a new array only when a channel appears (a snapshot or a new key) */
  channelKeys = $state.raw<string[]>([]);
  links = $state<Record<string, EquipmentLinkView>>({});
  lots = $state<Record<string, Lot>>({});
  /** latest runs per lot from `lot.updated` */
  lotRuns = $state<Record<string, LotUpdate["runs"]>>({});
  alarms = $state<Record<string, Alarm>>({});
  stationName = $state("");
  simulated = $state(false);
  connected = $state(false);
  #socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;
  #scope: { cyclerId?: string; channelKey?: string } = {};
  /** channels on screen (null: all), told to the server so only they stream their values */
  #visible: string[] | null = null;
  #sessionEnded: () => void = () => {};
  /** listeners for raw channel updates (charts keep their own history) */
  #channelListeners = new Set<(views: ChannelView[]) => void>();

  onSessionEnded(fn: () => void): void {
    this.#sessionEnded = fn;
  }

  onChannels(fn: (views: ChannelView[]) => void): () => void {
    this.#channelListeners.add(fn);
    return () => this.#channelListeners.delete(fn);
  }

  connect(): void {
    if (this.#socket) return;
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({ transports: ["websocket"] });
    this.#socket = socket;
    socket.on("connect", () => {
      this.connected = true;
      socket.emit("live.join", this.#scope);
      if (this.#visible !== null) socket.emit("live.visible", this.#visible);
    });
    socket.on("disconnect", () => (this.connected = false));
    socket.on("connect_error", (e) => {
      if (e.message === "unauthenticated") this.#sessionEnded();
    });
    socket.on("session.ended", () => this.#sessionEnded());
    socket.on("station.snapshot", (s) => {
      this.stationName = s.stationName;
      this.simulated = s.simulated;
      this.channels = Object.fromEntries(s.channels.map((c) => [c.key, c]));
      this.channelKeys = s.channels.map((c) => c.key).sort(keyOrder.compare);
      this.links = Object.fromEntries(s.links.map((l) => [l.equipmentId, l]));
      this.#channelListeners.forEach((fn) => fn(s.channels));
    });
    socket.on("channels.updated", (changed) => {
      const added = changed.filter((c) => !(c.key in this.channels));
      for (const c of changed) this.channels[c.key] = c;
      if (added.length > 0) this.channelKeys = [...this.channelKeys, ...added.map((c) => c.key)].sort(keyOrder.compare);
      this.#channelListeners.forEach((fn) => fn(changed));
    });
    socket.on("equipment.link", (l) => (this.links[l.equipmentId] = l));
    socket.on("lots.snapshot", (lots) => (this.lots = Object.fromEntries(lots.map((l) => [l.id, l]))));
    socket.on("lot.updated", (u) => {
      this.lots[u.lot.id] = u.lot;
      this.lotRuns[u.lot.id] = u.runs;
    });
    socket.on("alarms.snapshot", (active) => (this.alarms = Object.fromEntries(active.map((a) => [a.id, a]))));
    socket.on("alarm.changed", (a) => {
      if (a.state === "normal" || (a.shelved && Date.parse(a.shelved.untilIso) > Date.now())) delete this.alarms[a.id];
      else this.alarms[a.id] = a;
    });
  }

  disconnect(): void {
    this.#socket?.close();
    this.#socket = undefined;
    this.connected = false;
  }

  /** The whole station by default; a channel detail narrows the stream to its channel. */
  join(scope: { cyclerId?: string; channelKey?: string }): void {
    this.#scope = scope;
    if (this.#socket?.connected) this.#socket.emit("live.join", scope);
  }

  /** The overview tells which tiles are on screen; null (leaving it) lets every channel stream again. */
  setVisible(keys: string[] | null): void {
    this.#visible = keys;
    if (this.#socket?.connected) this.#socket.emit("live.visible", keys);
  }

  async acknowledge(id: string): Promise<SocketResult<Alarm>> {
    if (!this.#socket) return { ok: false, status: 401, error: "not connected" };
    return this.#socket.emitWithAck("alarm.acknowledge", id);
  }

  /** active alarms by source ("cycler-1/3"), for markers on tiles */
  alarmFor(source: string): Alarm | undefined {
    return Object.values(this.alarms).find((a) => a.source === source);
  }
}

export const live = new LiveStore();
