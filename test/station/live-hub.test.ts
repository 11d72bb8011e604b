/** Leading-edge coalescing of the live hub: a change goes out at once, then each channel at most once per period. */
import { describe, expect, it } from "vitest";
import type { ChannelView } from "../../server/api/events.ts";
import { createLiveHub } from "../../server/station/live-hub.ts";

const view = (channel: number, voltageV: number, state: ChannelView["state"] = "running"): ChannelView => ({
  key: `c/${channel}`, cyclerId: "c", channel, state, voltageV, currentA: 0, temperatureC: 25, stepIndex: 0, stepTimeS: 0, cycle: 0, alarmCode: 0, lastSeq: "0", updatedAtMs: 0,
});

describe("live hub coalescing", () => {
  it("sends a first change at once and holds a second one until the period is over, with its newest value", () => {
    const hub = createLiveHub();
    let notified = 0;
    hub.onChange(() => notified++);
    hub.upsert(view(1, 3.7));
    expect(notified).toBe(1);
    expect(hub.takeDue(1000, 500)).toEqual({ due: [view(1, 3.7)], nextDueMs: undefined });

    hub.upsert(view(1, 3.71));
    hub.upsert(view(1, 3.72));
    // 200 ms after the last sending: held back, due at 1500
    expect(hub.takeDue(1200, 500)).toEqual({ due: [], nextDueMs: 1500 });
    const later = hub.takeDue(1500, 500);
    expect(later.due.map((v) => v.voltageV)).toEqual([3.72]);
    expect(later.nextDueMs).toBeUndefined();
    expect(hub.takeDue(5000, 500).due).toEqual([]); // nothing changed since
  });

  it("does not hold back one channel for another's recent sending", () => {
    const hub = createLiveHub();
    hub.upsert(view(1, 3.7));
    hub.takeDue(1000, 500);
    hub.upsert(view(1, 3.8));
    hub.upsert(view(2, 3.6, "idle"));
    const r = hub.takeDue(1100, 500);
    expect(r.due.map((v) => v.key)).toEqual(["c/2"]);
    expect(r.nextDueMs).toBe(1500);
  });

  it("ignores an upsert that changes nothing shown", () => {
    const hub = createLiveHub();
    let notified = 0;
    hub.onChange(() => notified++);
    hub.upsert(view(1, 3.7));
    hub.upsert({ ...view(1, 3.7), updatedAtMs: 99 });
    expect(notified).toBe(1);
    expect(hub.get("c/1")?.updatedAtMs).toBe(99);
  });
});
