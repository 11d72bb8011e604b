/**
 * One small SVG chart: line and/or bar series on linear axes, with title, axis labels, legend and an optional
 * footnote (used to label model projections). Rendered to PNG with @resvg/resvg-js and the Roboto font
 * bundled with pdfmake, so a PNG looks the same on every machine.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Resvg } from "@resvg/resvg-js";

export interface ChartSeries {
  name: string;
  points: readonly [number, number][];
  style: "line" | "bar" | "points";
  /** stroke pattern: solid or dashed (a second cue besides colour) */
  dashed?: boolean;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  footnote?: string;
  /** force the y axis to include this range */
  yInclude?: [number, number];
}

const W = 800;
const H = 420;
const M = { left: 70, right: 20, top: 40, bottom: 80 };
const COLORS = ["#1f4e79", "#b85c00", "#4d4d4d", "#2e7d32"];

function niceTicks(min: number, max: number, count = 5): number[] {
  const span = max - min || Math.abs(max) || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v: number) => (Math.abs(v) >= 1000 || Number.isInteger(v) ? v.toFixed(0) : v.toPrecision(3));

export function renderChartSvg(spec: ChartSpec): string {
  const all = spec.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = [...all.map((p) => p[1]), ...(spec.yInclude ?? []), ...(spec.series.some((s) => s.style === "bar") ? [0] : [])];
  let [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const pad = (y1 - y0) * 0.05;
  y0 -= y0 === 0 ? 0 : pad;
  y1 += pad;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => M.top + ph - ((y - y0) / (y1 - y0)) * ph;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Roboto, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="24" font-size="16" text-anchor="middle" fill="#222">${esc(spec.title)}</text>`,
  ];
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${M.left - 6}" y="${sy(t) + 4}" font-size="11" text-anchor="end" fill="#444">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(x0, x1, 6)) {
    parts.push(`<text x="${sx(t)}" y="${M.top + ph + 16}" font-size="11" text-anchor="middle" fill="#444">${fmt(t)}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${M.top + ph + 36}" font-size="12" text-anchor="middle" fill="#222">${esc(spec.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="#222">${esc(spec.yLabel)}</text>`);

  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    if (s.style === "bar") {
      const bw = Math.max(2, Math.min(40, (pw / Math.max(1, s.points.length)) * 0.7));
      for (const [x, y] of s.points) {
        parts.push(`<rect x="${sx(x) - bw / 2}" y="${Math.min(sy(y), sy(0))}" width="${bw}" height="${Math.abs(sy(0) - sy(y))}" fill="${color}"/>`);
      }
    } else if (s.style === "points") {
      for (const [x, y] of s.points) parts.push(`<circle cx="${sx(x)}" cy="${sy(y)}" r="4" fill="${color}"/>`);
    } else if (s.points.length > 0) {
      const d = s.points.map(([x, y], k) => `${k === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="8 5"' : ""}/>`);
    }
    const ly = H - 30 + 0;
    const lx = M.left + i * 260;
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="10" fill="${color}"/>`);
    parts.push(`<text x="${lx + 20}" y="${ly}" font-size="12" fill="#222">${esc(s.name)}</text>`);
  });
  if (spec.footnote) parts.push(`<text x="${M.left}" y="${H - 8}" font-size="10" fill="#444">${esc(spec.footnote)}</text>`);
  parts.push("</svg>");
  return parts.join("\n");
}

const require = createRequire(import.meta.url);
const ROBOTO_DIR = join(dirname(require.resolve("pdfmake/package.json")), "fonts", "Roboto");

export function svgToPng(svg: string): Buffer {
  const resvg = new Resvg(svg, {
    background: "#ffffff",
    font: { fontFiles: [join(ROBOTO_DIR, "Roboto-Regular.ttf")], loadSystemFonts: false, defaultFontFamily: "Roboto" },
  });
  return resvg.render().asPng();
}
