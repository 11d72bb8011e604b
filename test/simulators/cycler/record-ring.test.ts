import { describe, expect, it } from "vitest";
import { RecordRing } from "../../../simulators/cycler/record-ring.ts";

const push = (ring: RecordRing, n: number, from = 0) => {
  for (let k = from; k < from + n; k++) ring.push(1e9 + k, k, k % 3, 1, 3 + k * 1e-5, -k * 1e-7, 25, k * 1e-6, 0, 0, 0, k % 2);
};

describe("record ring", () => {
  it("numbers records 1, 2, 3 … and since() pages exactly after a seq", () => {
    const ring = new RecordRing(1000);
    push(ring, 600); // crosses the initial 256-row allocation twice
    expect(ring.lastSeq).toBe(600n);
    const all = ring.since(0n, 10_000);
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 600 }, (_, i) => BigInt(i + 1)));
    all.forEach((r, i) => {
      expect(r.testTimeS).toBe(i);
      expect(r.voltageV).toBe(Math.round((3 + i * 1e-5) * 1e5) / 1e5);
      expect(r.currentA).toBe(i === 0 ? 0 : -i / 1e7);
      expect(r.chargeAh).toBe(i / 1e6);
    });
    expect(ring.since(597n, 10).map((r) => r.seq)).toEqual([598n, 599n, 600n]);
    expect(ring.since(10n, 3).map((r) => r.seq)).toEqual([11n, 12n, 13n]);
    expect(ring.since(600n, 10)).toEqual([]);
  });

  it("overflow drops the oldest records only", () => {
    const ring = new RecordRing(300);
    push(ring, 1000);
    expect(ring.length).toBe(300);
    expect(ring.firstSeq).toBe(701n);
    const held = ring.since(0n, 10_000);
    expect(held.map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => BigInt(701 + i)));
    expect(held.map((r) => r.testTimeS)).toEqual(Array.from({ length: 300 }, (_, i) => 700 + i));
  });

  it("clear() forgets everything and restarts at seq 1", () => {
    const ring = new RecordRing(100);
    push(ring, 150);
    ring.clear();
    expect(ring.since(0n, 10)).toEqual([]);
    push(ring, 2, 500);
    expect(ring.since(0n, 10).map((r) => [r.seq, r.testTimeS])).toEqual([
      [1n, 500],
      [2n, 501],
    ]);
  });
});
