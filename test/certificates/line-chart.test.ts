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
/** the data lines: 1 pt wide (grid 0.4 pt, frame, ticks and error bars 0.6 pt) */
const seriesLines = (vectors: CanvasVector[]) => polylines(vectors).filter((v) => v.lineWidth === 1);

describe("line chart", () => {
  it("draws a long series with a bounded number of points, deterministically", () => {
    const x = Array.from({ length: 20000 }, (_, i) => 2.5 + i * 0.0001);
    const y = x.map((v) => Math.sin(v * 40));
    const spec = { xLabel: "Voltage / V", yLabel: "dQ/dV / (Ah/V)", series: [{ name: "m", x, y }], widthPt: 515, heightPt: 200 };
    const chart = lineChart(spec);
    expect(lineChart(spec)).toEqual(chart);
    const [data] = seriesLines(chart.vectors);
    const columns = Math.ceil((515 - 104) / DECIMATION_COLUMN_PT) + 1;
    expect(data.points.length).toBeLessThanOrEqual(2 * columns + 2);
    expect(data.points.length).toBeGreaterThan(columns);
  });

  it("maps data to the plot box: range ends on the frame, y up", () => {
    // x 0…100 and y 0…1 are already 1-2-5 ranges; plot box = chart minus margins 52/52/18/30 pt
    const chart = lineChart({ xLabel: "SOC / %", yLabel: "U / V", series: [{ name: "s", x: [0, 50, 100], y: [0, 0.5, 1] }], widthPt: 400, heightPt: 200 });
    expect(seriesLines(chart.vectors)[0].points).toEqual([{ x: 52, y: 170 }, { x: 200, y: 94 }, { x: 348, y: 18 }]);
    expect(chart.vectors).toContainEqual(expect.objectContaining({ type: "rect", x: 52, y: 18, w: 296, h: 152, lineColor: "#333333" }));
    // grid and ticks are one polyline each: a full-height grid line at every x tick 0, 20 … 100 and a full-width
    // one at every y tick 0, 0.2 … 1, and every other segment on the frame, where it is drawn over
    const [grid, ticks] = polylines(chart.vectors);
    const segments = (line: typeof grid) => line.points.slice(1).map((p, i) => [line.points[i], p] as const);
    const inside = (p: { x: number; y: number }) => p.x >= 52 && p.x <= 348 && p.y >= 18 && p.y <= 170;
    const onFrame = ([a, b]: readonly [{ x: number; y: number }, { x: number; y: number }]) =>
      inside(a) && inside(b) && ((a.x === b.x && (a.x === 52 || a.x === 348)) || (a.y === b.y && (a.y === 18 || a.y === 170)));
    const gridLines = segments(grid).filter((s) => !onFrame(s) || Math.abs(s[0].x - s[1].x) === 296 || Math.abs(s[0].y - s[1].y) === 152);
    expect(gridLines.filter(([a, b]) => a.x === b.x).map(([a]) => a.x)).toEqual([52, 111.2, 170.4, 229.6, 288.8, 348]);
    expect(gridLines.filter(([a, b]) => a.y === b.y).map(([a]) => a.y)).toEqual([170, 139.6, 109.2, 78.8, 48.4, 18]);
    expect(segments(grid).every(([a, b]) => a.x === b.x || a.y === b.y)).toBe(true);
    // tick marks: 3 pt out of the frame (down from the x axis, left of the y axis), everything else on the frame
    const marks = segments(ticks).filter((s) => !onFrame(s));
    expect(marks).toHaveLength(2 * (6 + 6));
    expect(marks.every(([a, b]) => (a.x === b.x && Math.abs(a.y - b.y) === 3 && Math.max(a.y, b.y) === 173) || (a.y === b.y && Math.abs(a.x - b.x) === 3 && Math.min(a.x, b.x) === 49))).toBe(true);
    // x tick labels centred under their ticks, y tick labels ending 5 pt left of the axis; axis titles above the plot
    expect(chart.labels).toContainEqual({ text: "40", xPt: 170.4, baselinePt: 181, sizePt: 7, anchor: "middle" });
    expect(chart.labels).toContainEqual({ text: "0.4", xPt: 47, baselinePt: 109.2 + 2.5, sizePt: 7, anchor: "end" });
    expect(chart.labels).toContainEqual({ text: "SOC / %", xPt: 200, baselinePt: 196, sizePt: 8, anchor: "middle" });
    expect(chart.labels).toContainEqual({ text: "U / V", xPt: 4, baselinePt: 11, sizePt: 8, anchor: "start" });
    expect(chart.labels.map((l) => l.text).filter((t) => /^\d/.test(t))).toEqual(["0", "20", "40", "60", "80", "100", "0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
  });

  it("draws error bars and a dashed second series", () => {
    const chart = lineChart({
      xLabel: "x", yLabel: "y", widthPt: 400, heightPt: 200,
      series: [{ name: "a", x: [0, 1], y: [0, 1], err: [0.1, 0] }, { name: "b & c", x: [0, 1], y: [1, 0] }],
    });
    const [a, b] = seriesLines(chart.vectors);
    expect(a.dash).toBeUndefined();
    expect(b.dash).toEqual({ length: 4, space: 2 });
    // one error bar (the second error is 0): caps 4 pt wide at y ± err, joined by the bar, in the first series' colour
    const bars = chart.vectors.filter((v) => v.type === "polyline" && v.lineColor === a.lineColor && v.lineWidth === 0.6);
    expect(bars).toHaveLength(1);
    // y range -0.5 … 1 (-0.1 … 1 widened to steps of 0.5) over the 152 pt plot height
    const errPt = (0.1 / 1.5) * 152;
    const yAtZero = 170 - (0.5 / 1.5) * 152;
    const [lo, hi] = [yAtZero + errPt, yAtZero - errPt];
    expect(bars[0].type === "polyline" && bars[0].points).toEqual(
      [[50, lo], [54, lo], [52, lo], [52, hi], [50, hi], [54, hi]].map(([x, y]) => ({ x, y: Math.round(y * 100) / 100 })),
    );
    expect(chart.labels.map((l) => l.text)).toContain("b & c");
  });
});
