import { describe, expect, it } from "vitest";
import { convertBmsLogContent } from "../../server/evaluation/import/convert-bms-log.ts";
import { loadColumnMaps, parseColumnMaps, parseTimestampS, ColumnMapConfigError } from "../../server/evaluation/import/column-map.ts";

const maps = await loadColumnMaps();
const buf = (s: string) => Buffer.from(s, "utf8");

describe("convertBmsLog: generic CSV", () => {
  it("reads meta comments, keeps the charge-positive sign and reports bad rows with their line numbers", () => {
    const text = [
      "# simulated: true",
      "# vehicle_id: CAR-7",
      "# rated_capacity_ah: 60",
      "time_s,pack_voltage_v,current_a,soc_pct,temp_c,speed_kph,odometer_km",
      "1000,400.5,-20,80,21,50,100",
      "1010,abc,-20,79.9,21,50,100.1",
      "1020,400.1,12.5,79.8,21,0,100.2",
      "1015,400,1,79,21,0,100.2",
      "1030,400,1,79",
      "1040,399,-5,150,21,0,100.3",
    ].join("\n");
    const r = convertBmsLogContent("car.csv", buf(text), maps);
    expect(r.ok).toBe(true);
    if (!r.ok || r.log.shape !== "timeseries") throw new Error("expected a time series");
    expect(r.log.meta).toMatchObject({ vehicleId: "CAR-7", simulated: true, ratedCapacityAh: 60 });
    expect(r.log.samples.map((s) => s.timeS)).toEqual([1000, 1020]);
    expect(r.log.samples[0]).toMatchObject({ packVoltageV: 400.5, packCurrentA: -20, socPct: 80, temperatureC: 21, speedKph: 50, odometerKm: 100 });
    expect(r.log.samples[1].packCurrentA).toBe(12.5);
    expect(r.issues).toEqual([
      { file: "car.csv", row: 6, reason: 'pack_voltage_v "abc" is not a number' },
      { file: "car.csv", row: 8, reason: "time 1015 s is not after the previous valid row (1020 s)" },
      { file: "car.csv", row: 9, reason: "has 4 fields, the header has 7" },
      { file: "car.csv", row: 10, reason: "soc_pct = 150 is outside the plausible range 0..100" },
    ]);
  });

  it("converts mV, mA, °F, mph, miles and ISO timestamps; reads per-cell columns in cell order", () => {
    const text = [
      "timestamp,pack_voltage_mv,current_ma,soc_pct,temp_f,speed_mph,odometer_mi,cell_002_mv,cell_001_mv",
      "2026-03-02T07:30:00Z,400000,-1500,50,212,10,1,3700,3650",
    ].join("\n");
    const r = convertBmsLogContent("u.csv", buf(text), maps);
    if (!r.ok || r.log.shape !== "timeseries") throw new Error("expected a time series");
    const s = r.log.samples[0];
    expect(s.timeS).toBe(Date.UTC(2026, 2, 2, 7, 30) / 1000);
    expect(s.packVoltageV).toBeCloseTo(400, 12);
    expect(s.packCurrentA).toBeCloseTo(-1.5, 12);
    expect(s.temperatureC).toBeCloseTo(100, 12);
    expect(s.speedKph).toBeCloseTo(16.09344, 10);
    expect(s.odometerKm).toBeCloseTo(1.609344, 10);
    expect(s.cellVoltagesV).toEqual([3.65, 3.7]);
  });

  it("flips a discharge-positive vendor export to the station's charge-positive sign", () => {
    const text = ["Log Time [ms],HV Battery Voltage [V],HV Battery Current (discharge +) [A]", "1772409600000,390,30"].join("\n");
    const r = convertBmsLogContent("vendor.csv", buf(text), maps);
    if (!r.ok || r.log.shape !== "timeseries") throw new Error("expected a time series");
    expect(r.log.samples[0]).toEqual({ timeS: 1772409600, packVoltageV: 390, packCurrentA: -30 });
  });
});

describe("convertBmsLog: JSON and sessions", () => {
  it("reads {meta, samples} and a bare array; bad objects are reported by index", () => {
    const doc = { meta: { vehicle_id: "J1", simulated: true, rated_energy_kwh: 20 }, samples: [
      { timestamp: 1772409600000, pack_voltage_v: 400, current_a: -10, soc_pct: 70 },
      { timestamp: 1772409610000, pack_voltage_v: 400, current_a: null, soc_pct: 70 },
      42,
      { timestamp: 1772409620, pack_voltage_v: 401, current_a: 5 },
    ] };
    const r = convertBmsLogContent("j.json", buf(JSON.stringify(doc)), maps);
    if (!r.ok || r.log.shape !== "timeseries") throw new Error("expected a time series");
    expect(r.log.meta).toMatchObject({ vehicleId: "J1", ratedEnergyKwh: 20 });
    // epoch ms detected in row 1, epoch s in row 4
    expect(r.log.samples.map((s) => s.timeS)).toEqual([1772409600, 1772409620]);
    expect(r.issues.map((i) => [i.row, i.reason])).toEqual([[2, "current_a is empty"], [3, "not an object"]]);
    const bare = convertBmsLogContent("b.json", buf(JSON.stringify(doc.samples.slice(0, 1))), maps);
    expect(bare.ok && bare.log.meta.vehicleId).toBe("b");
  });

  it("reads a trip/charge summary, inferring the kind from the SOC when no kind column exists", () => {
    const text = [
      "start_time,end_time,start_soc_pct,end_soc_pct,energy_wh,distance_mi",
      "2026-03-02T07:00:00Z,2026-03-02T07:30:00Z,90,70,4000,10",
      "2026-03-02T18:00:00Z,2026-03-02T19:00:00Z,70,90,4200,",
      "2026-03-02T20:00:00Z,2026-03-02T19:00:00Z,90,80,1000,1",
    ].join("\n");
    const r = convertBmsLogContent("s.csv", buf(text), maps);
    if (!r.ok || r.log.shape !== "sessions") throw new Error("expected sessions");
    expect(r.log.sessions[0]).toMatchObject({ kind: "trip", startSocPct: 90, endSocPct: 70, energyKwh: 4 });
    expect(r.log.sessions[0].distanceKm).toBeCloseTo(16.09344, 10);
    expect(r.log.sessions[1]).toMatchObject({ kind: "charge", energyKwh: 4.2, distanceKm: 0 });
    expect(r.issues).toEqual([{ file: "s.csv", row: 4, reason: "end_time is not after start_time" }]);
  });
});

describe("convertBmsLog: files that cannot be read", () => {
  it("gives typed errors for corrupt JSON, binary content, unknown columns and all-bad rows", () => {
    const corrupt = convertBmsLogContent("c.json", buf('{"samples": [{"timestamp": 1'), maps);
    expect(corrupt.ok === false && corrupt.error.kind).toBe("malformed");
    const binary = convertBmsLogContent("x.csv", Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x01]), maps);
    expect(binary.ok === false && binary.error.kind).toBe("not-text");
    const unknown = convertBmsLogContent("u.csv", buf("a,b\n1,2"), maps);
    expect(unknown.ok === false && unknown.error).toMatchObject({ kind: "unknown-shape", file: "u.csv" });
    const allBad = convertBmsLogContent("bad.csv", buf("time_s,pack_voltage_v,current_a\n1,x,1\n2,y,1"), maps);
    expect(allBad.ok === false && allBad.error.kind).toBe("no-valid-rows");
    expect(allBad.issues).toHaveLength(2);
    const badQuote = convertBmsLogContent("q.csv", buf('time_s,pack_voltage_v,current_a\n1,"400,1'), maps);
    expect(badQuote.ok === false && badQuote.error.kind).toBe("malformed");
  });

  it("rejects an invalid column map naming the bad field", () => {
    expect(() => parseColumnMaps({ maps: [{ id: "x", shape: "timeseries", fields: { time: [{ header: "t", unit: "hours" }] } }] }, "m.yaml"))
      .toThrow(ColumnMapConfigError);
  });

  it("detects epoch seconds vs milliseconds and rejects non-ISO text", () => {
    expect(parseTimestampS(1772409600, "auto")).toBe(1772409600);
    expect(parseTimestampS("1772409600123", "auto")).toBe(1772409600.123);
    expect(parseTimestampS("2026-03-02 07:30:00", "auto")).toBe(Date.UTC(2026, 2, 2, 7, 30) / 1000);
    expect(parseTimestampS("2026-03-02T08:30:00+01:00", "iso")).toBe(Date.UTC(2026, 2, 2, 7, 30) / 1000);
    expect(parseTimestampS("March 2nd", "auto")).toMatch(/not ISO 8601/);
  });
});
