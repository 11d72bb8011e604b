/** socket.io side: session-cookie handshake, snapshots then deltas, role-checked acknowledge, session end. */
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClientToServerEvents, ServerToClientEvents } from "../../server/api/events.ts";
import { startHarness, type Harness } from "./api-harness.ts";

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
let h: Harness;
const open: Client[] = [];
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  open.forEach((s) => s.close());
  await h.close();
});

const client = (cookie?: string): Client => {
  const s: Client = connect(h.url, { transports: ["websocket"], extraHeaders: cookie ? { cookie } : {}, reconnection: false });
  open.push(s);
  return s;
};
const connected = (s: Client) => new Promise<void>((resolve) => (s.connected ? resolve() : s.once("connect", () => resolve())));
const next = <E extends keyof ServerToClientEvents>(s: Client, event: E) =>
  new Promise<Parameters<ServerToClientEvents[E]>[0]>((resolve) => s.once(event as never, resolve as never));

describe("live socket", () => {
  it("refuses a handshake without a session", async () => {
    const s = client();
    const err = await new Promise<Error>((resolve) => s.once("connect_error", resolve));
    expect(err.message).toBe("unauthenticated");
  });

  it("sends snapshots on join, then lot and alarm deltas; checks the role on acknowledge", async () => {
    h.station.feed();
    const alarm = h.station.alarmManager.raise({ source: "cycler-1/3", condition: "over-temperature", severity: "high", message: "cell at 61 °C" });
    const qa = client(await h.loginAs("qa"));
    const op = client(await h.loginAs("operator"));
    const snapshot = next(op, "station.snapshot");
    const alarms = next(op, "alarms.snapshot");
    const lots = next(op, "lots.snapshot");
    op.emit("live.join", {});
    expect((await snapshot).channels).toHaveLength(8);
    expect((await alarms).map((a) => a.id)).toEqual([alarm.id]);
    expect(await lots).toEqual([]);

    const lotUpdate = next(op, "lot.updated");
    const lot = await h.station.startLot({ name: "S1", recipe: "factory_init", cyclerId: "cycler-1", cells: [{ slot: 1, serial: "X1" }], nominalCapacityAh: 5, chemistry: "nmc811-graphite", operator: "olga" });
    h.station.advance(lot.id, 2, 0.4);
    const update = await lotUpdate;
    expect(update.lot.id).toBe(lot.id);
    expect(update.lot.phaseIndex).toBe(2); // coalesced: the start and the advance arrive as one, the latest
    expect(update.runs[0].serial).toBe("X1");

    await connected(qa);
    const refused = await qa.emitWithAck("alarm.acknowledge", alarm.id);
    expect(refused).toEqual({ ok: false, status: 403, error: "role qa may not alarm.acknowledge" });
    const changed = next(op, "alarm.changed");
    const acked = await op.emitWithAck("alarm.acknowledge", alarm.id);
    expect(acked.ok && acked.value.state).toBe("active-ack");
    expect(await changed).toMatchObject({ id: alarm.id, state: "active-ack", acknowledgedBy: "olga" });
    expect(h.audit.query({ action: "alarm.acknowledge" })[0]).toMatchObject({ actor: "olga", target: alarm.id });
  });

  it("tells the socket and disconnects it on logout", async () => {
    const cookie = await h.loginAs("supervisor");
    const s = client(cookie);
    await connected(s);
    const ended = next(s, "session.ended");
    const gone = new Promise<string>((resolve) => s.once("disconnect", resolve));
    await h.call("POST", "/auth/logout", { cookie });
    expect(await ended).toBe("logged out");
    expect(await gone).toBe("io server disconnect");
  });
});
