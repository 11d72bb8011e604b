/**
 * Builds plant messages from the station's own objects (lots, runs, results, alarms, live channels). Ids are
 * deterministic: the same grade or alarm change always yields the same id, so re-sending is harmless.
 */
import type { ChannelView, EquipmentLinkView } from "../api/events.ts";
import type { Alarm } from "../station/alarms.ts";
import type { Lot, Run } from "../station/run.types.ts";
import type { LotDetail } from "../station/station-service.ts";
import {
  digest,
  type AlarmMessage,
  type ChannelsMessage,
  type GradeMessage,
  type RunsMessage,
  type StatusMessage,
} from "./plant-messages.ts";

export interface Origin {
  plantId: string;
  lineId: string;
  stationId: string;
}

/** Certificate issued for a cell of a lot, when the station has one at publication time. */
export type CertificateLookup = (lotId: string, serial: string) => Promise<{ id: string; issuedAt: string } | undefined>;

export function statusMessage(o: Origin, s: { stationName: string; online: boolean; simulated: boolean; at: Date; links: EquipmentLinkView[]; channels: ChannelView[]; activeAlarms: number }): StatusMessage {
  const channelsByState: Record<string, number> = {};
  for (const c of s.channels) channelsByState[c.state] = (channelsByState[c.state] ?? 0) + 1;
  const at = s.at.toISOString();
  return {
    schema: "axviam.status/1",
    id: `${o.stationId}:status:${at}`,
    ...o,
    stationName: s.stationName,
    online: s.online,
    simulated: s.simulated,
    at,
    links: s.links.map((l) => ({ equipmentId: l.equipmentId, kind: l.kind, status: l.status, ...(l.reason !== undefined ? { reason: l.reason } : {}) })),
    channelsByState,
    activeAlarms: s.activeAlarms,
  };
}

export function channelsMessage(o: Origin, channels: ChannelView[], at: Date): ChannelsMessage {
  const iso = at.toISOString();
  return {
    schema: "axviam.channels/1",
    id: `${o.stationId}:channels:${iso}`,
    ...o,
    at: iso,
    channels: channels.map((c) => ({
      key: c.key, cyclerId: c.cyclerId, channel: c.channel, state: c.state, voltageV: c.voltageV, currentA: c.currentA, temperatureC: c.temperatureC,
      stepIndex: c.stepIndex, cycle: c.cycle, alarmCode: c.alarmCode, updatedAtMs: Math.round(c.updatedAtMs),
      ...(c.serial !== undefined ? { serial: c.serial } : {}), ...(c.runId !== undefined ? { runId: c.runId } : {}), ...(c.progress !== undefined ? { progress: c.progress } : {}),
    })),
  };
}

export function alarmMessage(o: Origin, a: Alarm): AlarmMessage {
  const changeId = digest(a);
  const changedAt = [a.raisedAt, a.clearedAt, a.acknowledgedAt].filter((t): t is string => t !== undefined).sort().at(-1)!;
  return {
    schema: "axviam.alarm/1",
    id: `${a.id}:${changeId}`,
    ...o,
    alarmId: a.id,
    changeId,
    source: a.source,
    condition: a.condition,
    severity: a.severity,
    state: a.state,
    message: a.message,
    raisedAt: a.raisedAt,
    changedAt,
    ...(a.clearedAt !== undefined ? { clearedAt: a.clearedAt } : {}),
    ...(a.acknowledgedAt !== undefined ? { acknowledgedAt: a.acknowledgedAt } : {}),
    ...(a.acknowledgedBy !== undefined ? { acknowledgedBy: a.acknowledgedBy } : {}),
    ...(a.shelved !== undefined ? { shelved: a.shelved } : {}),
  };
}

export function runsMessage(o: Origin, lot: Lot, runs: Run[], at: Date): RunsMessage {
  const runStates = runs.map((r) => ({ id: r.id, serial: r.serial, cyclerId: r.cyclerId, channel: r.channel, state: r.state, phaseIndex: r.phaseIndex }));
  return {
    schema: "axviam.lot/1",
    id: `${lot.id}:${lot.state}:${lot.phaseIndex}:${digest(runStates)}`,
    ...o,
    at: at.toISOString(),
    lot: {
      id: lot.id, name: lot.name, kind: lot.kind, recipe: lot.recipe, state: lot.state, phaseIndex: lot.phaseIndex, chemistry: lot.chemistry,
      simulated: lot.simulated, createdAt: lot.createdAt, ...(lot.finishedAt !== undefined ? { finishedAt: lot.finishedAt } : {}),
    },
    runs: runStates,
  };
}

const isMeasured = (v: unknown): v is { value: number; uncertainty?: number } =>
  typeof v === "object" && v !== null && typeof (v as { value?: unknown }).value === "number" && Number.isFinite((v as { value: number }).value);

/**
 * Scalar figures of an analysis result (imprint or second-life grade), flattened to dotted names: a `Measured`
 * keeps its uncertainty, a plain finite number becomes a value. Curves (arrays) stay on the station; the plant
 * needs figures to compare and search, and the certificate for the rest.
 */
export function gradeFigures(result: unknown, prefix = "", depth = 0): GradeMessage["figures"] {
  const out: GradeMessage["figures"] = {};
  if (typeof result !== "object" || result === null || Array.isArray(result) || depth > 3) return out;
  for (const [k, v] of Object.entries(result)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "number" && Number.isFinite(v)) out[name] = { value: v };
    else if (isMeasured(v)) out[name] = typeof v.uncertainty === "number" && Number.isFinite(v.uncertainty) ? { value: v.value, uncertainty: v.uncertainty } : { value: v.value };
    else Object.assign(out, gradeFigures(v, name, depth + 1));
  }
  return out;
}

interface PerCellBin {
  serial: string;
  bin: "A" | "B" | "C" | "reject";
  reasons: { message: string }[];
}
interface RouteOf {
  route: { route: string; label: string; reasons: { message: string; passed: boolean }[] };
}

function binOf(lotResult: unknown, serial: string): PerCellBin | undefined {
  const perCell = (lotResult as { perCell?: unknown } | undefined)?.perCell;
  return Array.isArray(perCell) ? (perCell as PerCellBin[]).find((c) => c.serial === serial) : undefined;
}
function routeOf(result: unknown): RouteOf["route"] | undefined {
  const r = (result as Partial<RouteOf> | undefined)?.route;
  return r && typeof r.route === "string" ? r : undefined;
}

/**
 * The plant's yield definition: an imprinted cell is good unless binned reject (or not binned at all); a
 * second-life cell is good when it got a use — not "recycle" (the routing rules' fallback) and not "retest"
 * (the measurement was not conclusive).
 */
const NOT_A_USE = new Set(["recycle", "retest"]);

/** One grade message per run that finished with a result. */
export async function gradeMessages(o: Origin, detail: LotDetail, certificateOf: CertificateLookup): Promise<GradeMessage[]> {
  const { lot } = detail;
  const out: GradeMessage[] = [];
  for (const run of detail.runs) {
    const result = detail.results[run.serial];
    if (run.state !== "complete" || result === undefined) continue;
    const bin = binOf(detail.lotResult, run.serial);
    const route = routeOf(result);
    const passed = lot.kind === "imprint" ? bin !== undefined && bin.bin !== "reject" : route !== undefined && !NOT_A_USE.has(route.route);
    const reasons = bin ? bin.reasons.map((r) => r.message) : route ? route.reasons.filter((r) => !r.passed).map((r) => r.message) : [];
    const certificate = await certificateOf(lot.id, run.serial);
    out.push({
      schema: "axviam.grade/1",
      id: `${o.stationId}:${lot.id}:${run.serial}:${run.id}`,
      ...o,
      lotId: lot.id,
      lotName: lot.name,
      runId: run.id,
      serial: run.serial,
      kind: lot.kind,
      chemistry: lot.chemistry,
      nominalCapacityAh: lot.nominalCapacityAh,
      recipe: lot.recipe,
      simulated: lot.simulated,
      ...(bin ? { bin: bin.bin } : {}),
      ...(route ? { route: { id: route.route, label: route.label } } : {}),
      passed,
      reasons,
      figures: gradeFigures(result),
      ...(certificate ? { certificate } : {}),
      gradedAt: run.finishedAt ?? lot.finishedAt ?? lot.createdAt,
    });
  }
  return out;
}
