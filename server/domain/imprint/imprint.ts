/**
 * The imprint: a cell's baseline fingerprint from factory_init (DESIGN §6) — every figure with its standard
 * uncertainty, the curves behind them, and where the data came from (recipe, simulated or real equipment).
 * Segments arrive tagged with the recipe's roles, one segment per execution of a tagged step, in time order.
 * Figures whose analysis section is absent from the recipe, or whose role has no segment, are null.
 */
import type { ChannelRecord } from "../equipment/channel.ts";
import { restTrace } from "../entropy/dudt.ts";
import { estimateDudtFast } from "../entropy/fast-estimator.ts";
import { estimateDudtPotentiometric } from "../entropy/potentiometric-reference.ts";
import type { RecipeAnalysis } from "../recipes/recipe.schema.ts";
import { cycleCapacities, type CycleCapacity } from "./capacity.ts";
import { DEFAULT_MEASUREMENT_UNCERTAINTY, pulseResistance, type MeasurementUncertainty } from "./dcir.ts";
import { differentialVoltage, findPeaks, incrementalCapacity, type DifferentialVoltage, type IcaPeak, type IncrementalCapacity } from "./ica.ts";
import { ImprintError, type Measured } from "./measured.ts";
import { restOcv } from "./ocv.ts";
import { holdCurrent, kValue } from "./self-discharge.ts";

export interface TaggedSegment {
  role: string;
  records: ChannelRecord[];
}

export interface ImprintSource {
  recipeName: string;
  recipeVersion: string;
  /** true when the records came from simulated equipment (CyclerInfo.simulated) */
  simulated: boolean;
}

export interface EntropySignaturePoint {
  /** the role qualifier, e.g. "soc50" */
  label: string;
  /** nominal SOC (0..1) read from the label ("soc50" → 0.5); null when the label carries none */
  soc: number | null;
  dudtMvPerK: number;
  dudtUncertaintyMvPerK: number;
  entropyJPerMolK: number;
  entropyUncertaintyJPerMolK: number;
  method: "fast-relaxation-fit" | "potentiometric";
}

export interface Imprint extends ImprintSource {
  serial: string;
  nominalCapacityAh: number;
  capacityAh: Measured | null;
  energyWh: Measured | null;
  coulombicEfficiency: Measured | null;
  cycles: CycleCapacity[];
  formation: CycleCapacity | null;
  dcirMilliohm: Measured | null;
  r10sMilliohm: Measured | null;
  ocvV: Measured | null;
  ocvEndDvdtMvPerH: Measured | null;
  ocvRelaxed: boolean | null;
  kValueMvPerDay: Measured | null;
  holdCurrentMicroA: Measured | null;
  ica: IncrementalCapacity | null;
  icaPeaks: IcaPeak[];
  dva: DifferentialVoltage | null;
  entropyProfile: EntropySignaturePoint[];
  /** voltage vs discharged charge of the last capacity discharge, decimated for plots */
  dischargeCurve: { chargeAh: number[]; voltageV: number[] } | null;
}

export interface ImprintOptions {
  measurement?: MeasurementUncertainty;
  /** points kept in the stored discharge curve; default 400 */
  curvePoints?: number;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Mean over cycles; uncertainty: cycle-to-cycle scatter / √n combined with the current-reading uncertainty × time. */
function overCycles(values: readonly number[], systematic: number): Measured {
  const m = mean(values);
  const sd = values.length > 1 ? Math.sqrt(values.reduce((s, x) => s + (x - m) ** 2, 0) / (values.length - 1)) : 0;
  return { value: m, uncertainty: Math.sqrt(sd ** 2 / values.length + systematic ** 2) };
}

function decimate<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  return Array.from({ length: n }, (_, k) => xs[Math.round((k * (xs.length - 1)) / (n - 1))]);
}

export function analyseImprint(
  segments: readonly TaggedSegment[],
  cell: { serial: string; nominalCapacityAh: number },
  source: ImprintSource,
  analysis: RecipeAnalysis,
  options: ImprintOptions = {},
): Imprint {
  const u = options.measurement ?? DEFAULT_MEASUREMENT_UNCERTAINTY;
  const what = (figure: string) => `cell ${cell.serial}, ${figure}`;
  const byRole = (role: string) => segments.filter((s) => s.role === role);
  const lastOf = (role: string | undefined, figure: string): ChannelRecord[] | null => {
    if (role === undefined) return null;
    const found = byRole(role);
    if (found.length === 0) return null;
    const records = found[found.length - 1].records;
    if (records.length === 0) throw new ImprintError(`${what(figure)}: segment "${role}" has no records`);
    return records;
  };
  const paired = (section: { charge: string; discharge: string } | undefined) =>
    section === undefined
      ? []
      : cycleCapacities(
          segments
            .filter((s) => s.role === section.charge || s.role === section.discharge)
            .map((s) => ({ kind: s.role === section.charge ? ("charge" as const) : ("discharge" as const), records: s.records })),
          what("capacity"),
        );

  const cycles = paired(analysis.capacity);
  const lastDischarge = analysis.capacity ? byRole(analysis.capacity.discharge).at(-1)?.records : undefined;
  const dischargeDurationH = lastDischarge && lastDischarge.length > 1 ? (lastDischarge[lastDischarge.length - 1].testTimeS - lastDischarge[0].testTimeS) / 3600 : 0;
  const ces = cycles.map((c) => c.coulombicEfficiency).filter((c): c is number => c !== null);

  const dcirRest = lastOf(analysis.dcir?.rest, "dcir");
  const dcirPulse = lastOf(analysis.dcir?.pulse, "dcir");
  const dcir = dcirRest && dcirPulse ? pulseResistance(dcirRest, dcirPulse, u, what("dcir")) : null;
  const ocvRecords = lastOf(analysis.ocv?.rest, "ocv");
  const ocv = ocvRecords ? restOcv(ocvRecords, {}, what("ocv")) : null;
  const kRecords = lastOf(analysis.kValue?.rest, "k-value");
  const k = kRecords && analysis.kValue ? kValue(kRecords, analysis.kValue.excludeFirstMin * 60, what("k-value")) : null;
  const holdRecords = lastOf(analysis.holdCurrent?.hold, "hold current");
  const hold = holdRecords ? holdCurrent(holdRecords, what("hold current")) : null;
  const icaRecords = lastOf(analysis.ica?.curve, "ica");
  const ica = icaRecords && analysis.ica
    ? incrementalCapacity(icaRecords, { gridStepV: analysis.ica.gridStepMv / 1000, smoothingV: analysis.ica.smoothingMv / 1000 }, what("ica"))
    : null;

  const entropyPrefix = analysis.entropy ? `${analysis.entropy.rest}:` : null;
  const entropyProfile = entropyPrefix === null
    ? []
    : segments
        .filter((s) => s.role.startsWith(entropyPrefix))
        .map((s): EntropySignaturePoint => {
          const label = s.role.slice(entropyPrefix.length);
          const w = what(`entropy ${label}`);
          const trace = restTrace(s.records, 1e-3, w);
          const e = analysis.entropy?.method === "potentiometric" ? estimateDudtPotentiometric(trace, w) : estimateDudtFast(trace, w);
          const socMatch = label.match(/^soc(\d+(?:\.\d+)?)$/);
          return {
            label,
            soc: socMatch ? Number(socMatch[1]) / 100 : null,
            dudtMvPerK: e.dudtMvPerK,
            dudtUncertaintyMvPerK: e.dudtUncertaintyMvPerK,
            entropyJPerMolK: e.entropyJPerMolK,
            entropyUncertaintyJPerMolK: e.entropyUncertaintyJPerMolK,
            method: e.method,
          };
        });

  const curvePoints = options.curvePoints ?? 400;
  return {
    ...source,
    serial: cell.serial,
    nominalCapacityAh: cell.nominalCapacityAh,
    capacityAh: cycles.length ? overCycles(cycles.map((c) => c.dischargeAh), u.currentA * dischargeDurationH) : null,
    energyWh: cycles.length ? overCycles(cycles.map((c) => c.dischargeWh), u.currentA * dischargeDurationH * mean(cycles.map((c) => c.meanDischargeVoltageV))) : null,
    coulombicEfficiency: ces.length ? overCycles(ces, 0) : null,
    cycles,
    formation: paired(analysis.formation)[0] ?? null,
    dcirMilliohm: dcir?.dcirMilliohm ?? null,
    r10sMilliohm: dcir?.r10sMilliohm ?? null,
    ocvV: ocv?.ocvV ?? null,
    ocvEndDvdtMvPerH: ocv?.endDvdtMvPerH ?? null,
    ocvRelaxed: ocv?.relaxed ?? null,
    kValueMvPerDay: k?.kValueMvPerDay ?? null,
    holdCurrentMicroA: hold?.holdCurrentMicroA ?? null,
    ica,
    icaPeaks: ica ? findPeaks(ica) : [],
    dva: icaRecords ? differentialVoltage(icaRecords, {}, what("dva")) : null,
    entropyProfile,
    dischargeCurve: lastDischarge
      ? {
          chargeAh: decimate(lastDischarge.map((r) => r.dischargeAh), curvePoints),
          voltageV: decimate(lastDischarge.map((r) => r.voltageV), curvePoints),
        }
      : null,
  };
}
