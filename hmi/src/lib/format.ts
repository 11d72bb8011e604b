/** Number and time formatting for the HMI: fixed decimals so live values never change width. */
export function fixed(value: number | undefined, decimals: number): string {
  return value === undefined || !Number.isFinite(value) ? "—" : value.toFixed(decimals);
}

/** "2 d 04:05", "04:05:09" — remaining time without jumping widths within a unit */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const hh = String(Math.floor((s % 86400) / 3600)).padStart(2, "0");
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return d > 0 ? `${d} d ${hh}:${mm}` : `${hh}:${mm}:${ss}`;
}

/** "12:05" hours:minutes (hours not wrapped at a day) for remaining times shown as "≈ h:mm" */
export function hoursMinutes(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "—";
  const m = Math.max(0, Math.round(seconds / 60));
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}`;
}

export function dateTime(iso: string | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return `${d.toLocaleDateString("en-CA")} ${d.toLocaleTimeString("en-GB")}`;
}

export function percent(fraction: number | undefined, decimals = 0): string {
  return fraction === undefined ? "—" : `${(fraction * 100).toFixed(decimals)} %`;
}

/** "4.950 Ah"; "—" alone when unknown, so a missing number never shows a stray unit */
export function withUnit(value: number | undefined, decimals: number, unit: string): string {
  return value === undefined || !Number.isFinite(value) ? "—" : `${value.toFixed(decimals)} ${unit}`;
}

/**
 * "4.950 ± 0.004 Ah": a measured figure with its standard uncertainty (k = 1). An uncertainty below the value's last
 * shown digit keeps two significant digits rather than printing as zero.
 */
export function measured(m: { value: number; uncertainty: number } | undefined, decimals: number, unit: string): string {
  if (m === undefined || !Number.isFinite(m.value)) return "—";
  const u = m.uncertainty >= 10 ** -decimals ? m.uncertainty.toFixed(decimals) : m.uncertainty.toPrecision(2);
  return `${m.value.toFixed(decimals)} ± ${u} ${unit}`;
}
