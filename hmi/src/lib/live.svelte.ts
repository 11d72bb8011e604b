/** Live station state for the HMI: one socket, snapshot then deltas (shared state module, Svelte 5 runes). */
import { io, type Socket } from "socket.io-client";
import type { ChannelView, ClientToServerEvents, EquipmentLinkView, ServerToClientEvents } from "../../../server/api/events.ts";

class LiveStore {
  channels = $state<Record<string, ChannelView>>({});
  links = $state<Record<string, EquipmentLinkView>>({});
  stationName = $state("");
  simulated = $state(false);
  connected = $state(false);
  #socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;

  connect(scope: { cyclerId?: string; channelKey?: string } = {}): void {
    if (this.#socket) return;
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({ transports: ["websocket"] });
    this.#socket = socket;
    socket.on("connect", () => {
      this.connected = true;
      socket.emit("live.join", scope);
    });
    socket.on("disconnect", () => (this.connected = false));
    socket.on("station.snapshot", (s) => {
      this.stationName = s.stationName;
      this.simulated = s.simulated;
      this.channels = Object.fromEntries(s.channels.map((c) => [c.key, c]));
      this.links = Object.fromEntries(s.links.map((l) => [l.equipmentId, l]));
    });
    socket.on("channels.updated", (changed) => {
      for (const c of changed) this.channels[c.key] = c;
    });
    socket.on("equipment.link", (l) => (this.links[l.equipmentId] = l));
  }
}

export const live = new LiveStore();
