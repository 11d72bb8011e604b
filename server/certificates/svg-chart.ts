/**
 * Small SVG line chart for certificates: axes, 1-2-5 ticks, axis labels with units, legend,
 * optional error bars and an optional secondary y axis that is a linear rescaling of the
 * primary one (dU/dT in mV/K ↔ ΔS in J/(mol·K)). Rendered to vector paths by pdfmake.
 */

export interface ChartSeries {
  name: string;
  x: readonly number[];
  y: readonly number[];
  err?: readonly number[];
}

export interface LineChartSpec {
  /** omitted when the surrounding document already titles the chart */
  title?: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  widthPt: number;
  heightPt: number;
  /** right-hand axis showing y·scale */
  secondaryAxis?: { label: string; scale: number };
  /** more points than this per series are thinned by stride (the signed JSON keeps them all) */
  maxPointsPerSeries?: number;
}

const SERIES_STYLES = [
  { stroke: "#1f3b73", dash: "" },
  { stroke: "#c0392b", dash: "4 2" },
  { stroke: "#2e7d32", dash: "1 2" },
  { stroke: "#555555", dash: "6 2 1 2" },
];

const MARGIN = { left: 52, right: 52, top: 18, bottom: 30 };

export function lineChartSvg(spec: LineChartSpec): string {
  const { widthPt: w, heightPt: h } = spec;
  const plot = { x0: MARGIN.left, y0: MARGIN.top, x1: w - MARGIN.right, y1: h - MARGIN.bottom };
  const maxPoints = spec.maxPointsPerSeries ?? 600;
  const series = spec.series.map((s) => thin(s, maxPoints));
  const xRange = niceRange(series.flatMap((s) => s.x));
  const yRange = niceRange(series.flatMap((s) => s.y.flatMap((y, i) => [y - (s.err?.[i] ?? 0), y + (s.err?.[i] ?? 0)])));
  const sx = (x: number) => plot.x0 + ((x - xRange.min) / (xRange.max - xRange.min)) * (plot.x1 - plot.x0);
  const sy = (y: number) => plot.y1 - ((y - yRange.min) / (yRange.max - yRange.min)) * (plot.y1 - plot.y0);

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`);
  if (spec.title) parts.push(text(plot.x0, 11, spec.title, { size: 9, weight: "bold" }));
  parts.push(`<rect x="${fmt(plot.x0)}" y="${fmt(plot.y0)}" width="${fmt(plot.x1 - plot.x0)}" height="${fmt(plot.y1 - plot.y0)}" fill="none" stroke="#333" stroke-width="0.6"/>`);

  for (const tick of xRange.ticks) {
    const x = sx(tick);
    parts.push(line(x, plot.y0, x, plot.y1, "#ddd", 0.4));
    parts.push(line(x, plot.y1, x, plot.y1 + 3, "#333", 0.6));
    parts.push(text(x, plot.y1 + 11, formatTick(tick, xRange.step), { size: 7, anchor: "middle" }));
  }
  for (const tick of yRange.ticks) {
    const y = sy(tick);
    parts.push(line(plot.x0, y, plot.x1, y, "#ddd", 0.4));
    parts.push(line(plot.x0 - 3, y, plot.x0, y, "#333", 0.6));
    parts.push(text(plot.x0 - 5, y + 2.5, formatTick(tick, yRange.step), { size: 7, anchor: "end" }));
  }
  parts.push(text((plot.x0 + plot.x1) / 2, h - 4, spec.xLabel, { size: 8, anchor: "middle" }));
  parts.push(text(11, (plot.y0 + plot.y1) / 2, spec.yLabel, { size: 8, anchor: "middle", rotate: true }));

  if (spec.secondaryAxis) {
    const { scale, label } = spec.secondaryAxis;
    const secondary = niceRange([yRange.min * scale, yRange.max * scale]);
    for (const tick of secondary.ticks) {
      const y = sy(tick / scale);
      if (y < plot.y0 - 0.01 || y > plot.y1 + 0.01) continue;
      parts.push(line(plot.x1, y, plot.x1 + 3, y, "#333", 0.6));
      parts.push(text(plot.x1 + 5, y + 2.5, formatTick(tick, secondary.step), { size: 7, anchor: "start" }));
    }
    parts.push(text(w - 8, (plot.y0 + plot.y1) / 2, label, { size: 8, anchor: "middle", rotate: true }));
  }

  const legendX = plot.x1 - 94;
  parts.push(`<rect x="${fmt(legendX)}" y="${fmt(plot.y0 + 2)}" width="90" height="${fmt(series.length * 10 + 2)}" fill="#ffffff" fill-opacity="0.85" stroke="none"/>`);
  series.forEach((s, index) => {
    const style = SERIES_STYLES[index % SERIES_STYLES.length];
    if (s.x.length > 0) {
      const d = s.x.map((x, i) => `${i === 0 ? "M" : "L"}${fmt(sx(x))} ${fmt(sy(s.y[i]))}`).join(" ");
      const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : "";
      parts.push(`<path d="${d}" fill="none" stroke="${style.stroke}" stroke-width="1"${dash}/>`);
    }
    s.err?.forEach((e, i) => {
      if (e === 0) return;
      const x = sx(s.x[i]);
      parts.push(line(x, sy(s.y[i] - e), x, sy(s.y[i] + e), style.stroke, 0.6));
      parts.push(line(x - 2, sy(s.y[i] - e), x + 2, sy(s.y[i] - e), style.stroke, 0.6));
      parts.push(line(x - 2, sy(s.y[i] + e), x + 2, sy(s.y[i] + e), style.stroke, 0.6));
    });
    const ly = plot.y0 + 9 + index * 10;
    const lx = legendX + 4;
    parts.push(`<path d="M${fmt(lx)} ${fmt(ly - 2.5)} L${fmt(lx + 14)} ${fmt(ly - 2.5)}" stroke="${style.stroke}" stroke-width="1"${style.dash ? ` stroke-dasharray="${style.dash}"` : ""}/>`);
    parts.push(text(lx + 17, ly, s.name, { size: 7 }));
  });

  parts.push("</svg>");
  return parts.join("");
}

interface NiceRange {
  min: number;
  max: number;
  step: number;
  ticks: number[];
}

/** Axis range widened to 1-2-5 multiples with about five ticks (Heckbert, "Nice numbers for graph labels", Graphics Gems 1990). */
export function niceRange(values: readonly number[], targetTicks = 5): NiceRange {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
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

function thin(s: ChartSeries, maxPoints: number): ChartSeries {
  if (s.x.length <= maxPoints) return s;
  const stride = Math.ceil(s.x.length / maxPoints);
  const keep = (_: number, i: number) => i % stride === 0 || i === s.x.length - 1;
  return { name: s.name, x: s.x.filter(keep), y: s.y.filter(keep), err: s.err?.filter(keep) };
}

function fmt(n: number): string {
  return n.toFixed(2);
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string, width: number): string {
  return `<path d="M${fmt(x1)} ${fmt(y1)} L${fmt(x2)} ${fmt(y2)}" stroke="${stroke}" stroke-width="${width}" fill="none"/>`;
}

function text(
  x: number,
  y: number,
  content: string,
  o: { size: number; anchor?: "start" | "middle" | "end"; weight?: "bold"; rotate?: boolean },
): string {
  const transform = o.rotate ? ` transform="rotate(-90 ${fmt(x)} ${fmt(y)})"` : "";
  const weight = o.weight ? ` font-weight="${o.weight}"` : "";
  return `<text x="${fmt(x)}" y="${fmt(y)}" font-family="Roboto" font-size="${o.size}" text-anchor="${o.anchor ?? "start"}"${weight}${transform}>${escapeXml(content)}</text>`;
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}
