import { describe, expect, it } from "vitest";
import { decimateMinMax, DECIMATION_COLUMN_PT, lineChart, type CanvasVector } from "../../server/certificates/line-chart.ts";

const columnsOf = (columns: number, x0: number, x1: number) => (x: number) => Math.floor(((x - x0) / (x1 - x0)) * columns);

describe("min/max decimation", () => {
  // 5,000 samples on a 1 mV-like grid with a 3-sample-wide peak: stride thinning to 600 points keeps every 9th sample and misses it.
  const n = 5000;
  const x = Array.from({ length: n }, (_, i) => i);
  const peakAt = 2503;
  const y = x.map((i) => (Math.abs(i - peakAt) <= 1 ? (i === peakAt ? 40 : 25) : 1 + 0.001 * i));

  it("keeps the exact height and position of a narrow peak, and the ends", () => {
    const d = decimateMinMax({ name: "ica", x, y }, columnsOf(200, 0, n));
    expect(Math.max(...d.y)).toBe(40);
    expect(d.x[d.y.indexOf(40)]).toBe(peakAt);
    expect(d.x[0]).toBe(0);
    expect(d.x.at(-1)).toBe(n - 1);
    // at most min and max per column plus both ends
    expect(d.x.length).toBeLessThanOrEqual(2 * 200 + 2);
    expect(d.x.length).toBeGreaterThan(200);
    // original order preserved
    for (let i = 1; i < d.x.length; i++) expect(d.x[i]).toBeGreaterThan(d.x[i - 1]);
  });

  it("returns a short series unchanged and carries error bars with the kept points", () => {
    const s = { name: "dudt", x: [10, 20, 30], y: [0.1, -0.2, 0.05], err: [0.01, 0.02, 0.03] };
    expect(decimateMinMax(s, columnsOf(200, 0, 100))).toBe(s);
    const long = { name: "e", x, y, err: x.map((i) => i / 1000) };
    const d = decimateMinMax(long, columnsOf(100, 0, n));
    d.x.forEach((xi, k) => expect(d.err![k]).toBe(xi / 1000));
  });

  it("keeps a loop's topology: runs, not columns, are merged", () => {
    // out along x then back: the return leg must stay after the outward leg
    const loopX = [...Array.from({ length: 1000 }, (_, i) => i), ...Array.from({ length: 1000 }, (_, i) => 999 - i)];
    const loopY = loopX.map((xi, i) => (i < 1000 ? xi : -xi));
    const d = decimateMinMax({ name: "loop", x: loopX, y: loopY }, columnsOf(50, 0, 1000));
    const turn = d.x.indexOf(999);
    expect(d.y.slice(0, turn).every((v) => v >= 0)).toBe(true);
    expect(d.y.slice(turn + 2).every((v) => v <= 0)).toBe(true);
  });
});

const polylines = (vectors: CanvasVector[]) => vectors.filter((v) => v.type === "polyline");

describe("line chart", () => {
  it("draws a long series with a bounded number of points, deterministically", () => {
    const x = Array.from({ length: 20000 }, (_, i) => 2.5 + i * 0.0001);
    const y = x.map((v) => Math.sin(v * 40));
    const spec = { xLabel: "Voltage / V", yLabel: "dQ/dV / (Ah/V)", series: [{ name: "m", x, y }], widthPt: 515, heightPt: 200 };
    const chart = lineChart(spec);
    expect(lineChart(spec)).toEqual(chart);
    const [data] = polylines(chart.vectors);
    const columns = Math.ceil((515 - 104) / DECIMATION_COLUMN_PT) + 1;
    expect(data.points.length).toBeLessThanOrEqual(2 * columns + 2);
    expect(data.points.length).toBeGreaterThan(columns);
  });

  it("maps data to the plot box: range ends on the frame, y up", () => {
    // x 0…100 and y 0…1 are already 1-2-5 ranges; plot box = chart minus margins 52/52/18/30 pt
    const chart = lineChart({ xLabel: "SOC / %", yLabel: "U / V", series: [{ name: "s", x: [0, 50, 100], y: [0, 0.5, 1] }], widthPt: 400, heightPt: 200 });
    expect(polylines(chart.vectors)[0].points).toEqual([{ x: 52, y: 170 }, { x: 200, y: 94 }, { x: 348, y: 18 }]);
    expect(chart.vectors).toContainEqual(expect.objectContaining({ type: "rect", x: 52, y: 18, w: 296, h: 152, lineColor: "#333333" }));
    // one grid line and one tick per x tick 0, 20 … 100, tick labels in the SVG
    const vertical = chart.vectors.filter((v) => v.type === "line" && v.x1 === v.x2 && v.y1 === 18 && v.y2 === 170);
    expect(vertical.map((v) => (v.type === "line" ? v.x1 : NaN))).toEqual([52, 111.2, 170.4, 229.6, 288.8, 348]);
    for (const label of ["SOC / %", "U / V", ">0<", ">40<", ">100<", ">0.4<"]) expect(chart.labelsSvg).toContain(label);
  });

  it("draws error bars and a dashed second series", () => {
    const chart = lineChart({
      xLabel: "x", yLabel: "y", widthPt: 400, heightPt: 200,
      series: [{ name: "a", x: [0, 1], y: [0, 1], err: [0.1, 0] }, { name: "b & c", x: [0, 1], y: [1, 0] }],
    });
    const [a, b] = polylines(chart.vectors);
    expect(a.dash).toBeUndefined();
    expect(b.dash).toEqual({ length: 4, space: 2 });
    // one error bar (the second error is 0): a vertical stroke and two caps, 4 pt wide, in the first series' colour
    const bars = chart.vectors.filter((v) => v.type === "line" && v.lineColor === a.lineColor && v.lineWidth === 0.6);
    expect(bars).toHaveLength(3);
    expect(chart.labelsSvg).toContain(">b &amp; c<");
  });
});
