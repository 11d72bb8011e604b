/**
 * Small vector line chart for certificates: axes, 1-2-5 ticks, axis labels with units, legend,
 * optional error bars and an optional secondary y axis that is a linear rescaling of the
 * primary one (dU/dT in mV/K ↔ ΔS in J/(mol·K)).
 *
 * Lines are pdfmake canvas vectors (rectangles, lines, polylines), which pdfkit writes to the page
 * directly, and the text (tick labels, axis titles, legend names) is a list of labels placed by
 * their baseline and anchor, for the renderer to set as text. Drawn as an SVG instead, the charts
 * cost ~15 ms of a ~65 ms certificate: pdfmake parses each SVG three times and svg-to-pdfkit turns
 * every path command and text into objects (bench/certificates.bench.ts, profiled). Axis titles are
 * therefore horizontal, above their axis, rather than rotated along it. Each vector costs a full set
 * of stroke settings on the page, so the grid is one polyline and so are the tick marks: the
 * segments that join one line to the next run along the frame, which is drawn over the grid in its
 * own stroke and colour, and the tick marks' joins are the frame line itself (same stroke).
 *
 * Long series are decimated to what the page can show: per DECIMATION_COLUMN_PT-wide column of
 * the plot, the lowest and highest point of the samples falling in it (min/max aggregation; with
 * first/last per column it is M4: Jugel et al., "M4: A Visualization-Oriented Time Series Data
 * Aggregation", PVLDB 7(10), 2014 — dropping first/last moves a joining segment by less than one
 * column). Unlike thinning by stride, every local extreme survives, so a narrow dQ/dV peak keeps
 * its true height. The decimation is a pure function of the series and the plot geometry: it is
 * part of the layout (LAYOUT_VERSION in pdf-renderer.ts).
 */

export interface ChartSeries {
  name: string;
  x: readonly number[];
  y: readonly number[];
  err?: readonly number[];
}

export interface LineChartSpec {
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  widthPt: number;
  heightPt: number;
  /** right-hand axis showing y·scale */
  secondaryAxis?: { label: string; scale: number };
}

/**
 * Width of one decimation column [pt]. 2 pt ≈ 0.7 mm is about what a 1 pt line resolves; it bounds
 * a series on a full-width A4 chart to ≈ 2 × 206 points however long the measurement.
 */
export const DECIMATION_COLUMN_PT = 2;

/** pdfmake canvas dash: `length` on, `space` off [pt] */
interface Dash {
  length: number;
  space: number;
}

const SERIES_STYLES: readonly { stroke: string; dash?: Dash }[] = [
  { stroke: "#1f3b73" },
  { stroke: "#c0392b", dash: { length: 4, space: 2 } },
  { stroke: "#2e7d32", dash: { length: 1, space: 2 } },
  { stroke: "#555555", dash: { length: 7, space: 3 } },
];

const FRAME = { color: "#333333", widthPt: 0.6 };
const GRID = { color: "#dddddd", widthPt: 0.4 };
const TICK_PT = 3;
/** axis titles stand above the plot, this far in from the chart's left or right edge */
const AXIS_TITLE_INSET_PT = 4;
const ERROR_BAR_WIDTH_PT = 0.6;

const MARGIN = { left: 52, right: 52, top: 18, bottom: 30 };

/** A pdfmake canvas vector (chart coordinates: pt, origin at the chart's top-left). */
export type CanvasVector =
  | { type: "rect"; x: number; y: number; w: number; h: number; lineWidth?: number; lineColor?: string; color?: string; fillOpacity?: number }
  | { type: "line"; x1: number; y1: number; x2: number; y2: number; lineWidth: number; lineColor: string; dash?: Dash }
  | { type: "polyline"; points: Point[]; lineWidth: number; lineColor: string; dash?: Dash };

interface Point {
  x: number;
  y: number;
}

/** A line of text in chart coordinates: `xPt` is where its start, middle or end lies. */
export interface ChartLabel {
  text: string;
  xPt: number;
  baselinePt: number;
  sizePt: number;
  anchor: "start" | "middle" | "end";
}

export interface ChartDrawing {
  widthPt: number;
  heightPt: number;
  /** frame, grid, ticks, legend, series and error bars, in drawing order */
  vectors: CanvasVector[];
  /** tick labels, axis titles and legend names, to be set over the vectors */
  labels: ChartLabel[];
}

export function lineChart(spec: LineChartSpec): ChartDrawing {
  const { widthPt: w, heightPt: h } = spec;
  const plot = { x0: MARGIN.left, y0: MARGIN.top, x1: w - MARGIN.right, y1: h - MARGIN.bottom };
  const xRange = niceRange(extent(spec.series.map((s) => ({ lo: s.x, hi: s.x }))));
  const yRange = niceRange(extent(spec.series.map((s) => (s.err ? { lo: s.y.map((y, i) => y - s.err![i]), hi: s.y.map((y, i) => y + s.err![i]) } : { lo: s.y, hi: s.y }))));
  const sx = (x: number) => plot.x0 + ((x - xRange.min) / (xRange.max - xRange.min)) * (plot.x1 - plot.x0);
  const sy = (y: number) => plot.y1 - ((y - yRange.min) / (yRange.max - yRange.min)) * (plot.y1 - plot.y0);
  const series = spec.series.map((s) => decimateMinMax(s, (x) => Math.floor((sx(x) - plot.x0) / DECIMATION_COLUMN_PT)));

  const grid: Point[] = [];
  const ticks: Point[] = [];
  const labels: ChartLabel[] = [];
  const label = (xPt: number, baselinePt: number, text: string, sizePt: number, anchor: ChartLabel["anchor"] = "start") =>
    labels.push({ text, xPt: pt(xPt), baselinePt: pt(baselinePt), sizePt, anchor });
  const at = (x: number, y: number): Point => ({ x: pt(x), y: pt(y) });
  const line = (x1: number, y1: number, x2: number, y2: number, style: { color: string; widthPt: number }, dash?: Dash): CanvasVector => ({
    type: "line", x1: pt(x1), y1: pt(y1), x2: pt(x2), y2: pt(y2), lineWidth: style.widthPt, lineColor: style.color, ...(dash ? { dash } : {}),
  });

  for (const tick of xRange.ticks) {
    const x = sx(tick);
    // alternately up and down, so that consecutive grid lines join along the frame's top or bottom
    grid.push(...(grid.length % 4 === 0 ? [at(x, plot.y1), at(x, plot.y0)] : [at(x, plot.y0), at(x, plot.y1)]));
    ticks.push(at(x, plot.y1), at(x, plot.y1 + TICK_PT), at(x, plot.y1));
    label(x, plot.y1 + 11, formatTick(tick, xRange.step), 7, "middle");
  }
  // The last x tick is the range's end: the grid goes on down or up the frame's right edge to the
  // lowest y line, the ticks along the bottom edge to the bottom left corner.
  yRange.ticks.forEach((tick, k) => {
    const y = sy(tick);
    const [from, to] = k % 2 === 0 ? [plot.x1, plot.x0] : [plot.x0, plot.x1];
    grid.push(at(from, y), at(to, y));
    ticks.push(at(plot.x0, y), at(plot.x0 - TICK_PT, y), at(plot.x0, y));
    label(plot.x0 - 5, y + 2.5, formatTick(tick, yRange.step), 7, "end");
  });
  label((plot.x0 + plot.x1) / 2, h - 4, spec.xLabel, 8, "middle");
  label(AXIS_TITLE_INSET_PT, plot.y0 - 7, spec.yLabel, 8);

  if (spec.secondaryAxis) {
    const { scale, label: title } = spec.secondaryAxis;
    const secondary = niceRange({ lo: yRange.min * scale, hi: yRange.max * scale });
    const shown = secondary.ticks.map((tick) => ({ tick, y: sy(tick / scale) })).filter(({ y }) => y >= plot.y0 - 0.01 && y <= plot.y1 + 0.01);
    // on from the top left corner, where the y ticks end, along the top edge and down the right edge
    ticks.push(at(plot.x1, plot.y0));
    for (const { tick, y } of shown.reverse()) {
      ticks.push(at(plot.x1, y), at(plot.x1 + TICK_PT, y), at(plot.x1, y));
      label(plot.x1 + 5, y + 2.5, formatTick(tick, secondary.step), 7);
    }
    label(w - AXIS_TITLE_INSET_PT, plot.y0 - 7, title, 8, "end");
  }

  const legendX = plot.x1 - 94;
  // the frame after the grid: grid lines at the range's ends lie on it
  const vectors: CanvasVector[] = [
    { type: "polyline", points: grid, lineWidth: GRID.widthPt, lineColor: GRID.color },
    { type: "rect", x: pt(plot.x0), y: pt(plot.y0), w: pt(plot.x1 - plot.x0), h: pt(plot.y1 - plot.y0), lineWidth: FRAME.widthPt, lineColor: FRAME.color },
    { type: "polyline", points: ticks, lineWidth: FRAME.widthPt, lineColor: FRAME.color },
    { type: "rect", x: pt(legendX), y: pt(plot.y0 + 2), w: 90, h: pt(series.length * 10 + 2), color: "#ffffff", fillOpacity: 0.85 },
  ];
  series.forEach((s, index) => {
    const style = SERIES_STYLES[index % SERIES_STYLES.length];
    const seriesLine = { color: style.stroke, widthPt: 1 };
    if (s.x.length > 0) {
      vectors.push({ type: "polyline", points: s.x.map((x, i) => at(sx(x), sy(s.y[i]))), lineWidth: 1, lineColor: style.stroke, ...(style.dash ? { dash: style.dash } : {}) });
    }
    (s.err ?? []).forEach((e, i) => {
      if (e === 0) return;
      const x = sx(s.x[i]);
      const [lo, hi] = [sy(s.y[i] - e), sy(s.y[i] + e)];
      // lower cap, back to its middle, up the bar, upper cap: one stroke
      const points = [at(x - 2, lo), at(x + 2, lo), at(x, lo), at(x, hi), at(x - 2, hi), at(x + 2, hi)];
      vectors.push({ type: "polyline", points, lineWidth: ERROR_BAR_WIDTH_PT, lineColor: style.stroke });
    });
    const ly = plot.y0 + 9 + index * 10;
    const lx = legendX + 4;
    vectors.push(line(lx, ly - 2.5, lx + 14, ly - 2.5, seriesLine, style.dash));
    label(lx + 17, ly, s.name, 7);
  });

  return { widthPt: w, heightPt: h, vectors, labels };
}

interface NiceRange {
  min: number;
  max: number;
  step: number;
  ticks: number[];
}

/** Smallest of `lo` and largest of `hi` over all parts, by loop: spreading 10⁵ samples into Math.min overflows the stack. */
function extent(parts: readonly { lo: readonly number[]; hi: readonly number[] }[]): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const part of parts) {
    for (const v of part.lo) if (v < lo) lo = v;
    for (const v of part.hi) if (v > hi) hi = v;
  }
  return { lo, hi };
}

/** Axis range widened to 1-2-5 multiples with about five ticks (Heckbert, "Nice numbers for graph labels", Graphics Gems 1990). */
export function niceRange(bounds: { lo: number; hi: number }, targetTicks = 5): NiceRange {
  let { lo, hi } = bounds;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  const rough = (hi - lo) / targetTicks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / magnitude;
  const step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let k = 0; min + k * step <= max + step * 1e-9; k++) ticks.push(min + k * step);
  return { min, max, step, ticks };
}

function formatTick(value: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const s = value.toFixed(decimals);
  return s === "-0" || /^-0\.0*$/.test(s) ? s.slice(1) : s;
}

/**
 * Min/max decimation: split the series into runs of consecutive samples in the same plot column
 * and keep, per run, its lowest and highest sample in their original order, plus the series' first
 * and last sample. Runs (not columns) keep the path's topology when x is not monotone, e.g. a
 * charge/discharge loop.
 */
export function decimateMinMax(s: ChartSeries, columnOf: (x: number) => number): ChartSeries {
  const n = s.x.length;
  if (n <= 2) return s;
  const keep: number[] = [0];
  const closeRun = (start: number, end: number) => {
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      if (s.y[i] < s.y[lo]) lo = i;
      if (s.y[i] > s.y[hi]) hi = i;
    }
    for (const i of lo <= hi ? [lo, hi] : [hi, lo]) if (i !== keep[keep.length - 1]) keep.push(i);
  };
  let start = 0;
  let column = columnOf(s.x[0]);
  for (let i = 1; i < n; i++) {
    const c = columnOf(s.x[i]);
    if (c === column) continue;
    closeRun(start, i);
    start = i;
    column = c;
  }
  closeRun(start, n);
  if (keep[keep.length - 1] !== n - 1) keep.push(n - 1);
  if (keep.length === n) return s;
  return { name: s.name, x: keep.map((i) => s.x[i]), y: keep.map((i) => s.y[i]), err: s.err && keep.map((i) => s.err![i]) };
}

/** Coordinates rounded to 0.01 pt (3.5 µm): the page content stays short. */
function pt(n: number): number {
  return Math.round(n * 100) / 100;
}
