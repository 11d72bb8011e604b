/**
 * Second-life grade of one returned cell (DESIGN §7) from its measured segments, found by the roles the
 * recipe's analysis section names (station-config/recipes/second_life*.yaml; defaults below):
 *   capacity-discharge  C/3 discharge from full → capacity at the stated rate
 *   pseudo-ocv          C/20 discharge from full → low-rate capacity, dQ/dV (ICA) and the pseudo-OCV curve (modes)
 *   dcir-rest, dcir-pulse  rest then 0.2 C 10 s / 1 C 1 s pulse (IEC 61960-3) → 10 s DCIR
 *   hold                potentiostatic hold at the rest voltage → self-discharge current
 *   entropy:<label>     SOC step + rest under the chamber profile, in order from the full charge → dU/dT(SOC),
 *                       by the method the recipe names (analysis.entropy.method: fast | potentiometric)
 * Each entropy point's SOC is first placed against the C/20 capacity (to screen points outside 5–95 %), then,
 * once the mode fit has found the equilibrium window, re-placed on it: SOC = 1 − (Q_removed + Q_offset)/Q_eq, the
 * SOC at which the fitted model — and the simulator's truth — evaluates dU/dT.
 * SOH by capacity uses the equilibrium capacity of the mode fit (the charge between the OCV limits: free of the
 * C/20 overpotential at the cut-off and of a full charge that stopped short of 4.2 V OCV — together ≈ 1 % on
 * the simulated cells) against the imprint capacity when the cell has one, else the rated capacity; SOH by resistance the 10 s DCIR against the
 * imprint or the rules' fresh reference.
 */
import type { Chemistry, ChemistryId } from "../chemistry/chemistry.ts";
import type { ChannelRecord } from "../equipment/channel.ts";
import { compareWithImprint, type ImprintBaseline, type ImprintComparison } from "../degradation/imprint-comparison.ts";
import { fitDegradationModes, type ModeFit, type OcvPoint } from "../degradation/mode-fit.ts";
import { sohByCapacity, sohByResistance, type ResistanceHealth } from "../degradation/soh.ts";
import { DEFAULT_SOC_WINDOW, entropyProfile, type EntropyProfile } from "../entropy/entropy-profile.ts";
import { accumulatedSeries, throughput } from "../imprint/capacity.ts";
import { pulseResistance } from "../imprint/dcir.ts";
import { findPeaks, incrementalCapacity, type IcaPeak, type IncrementalCapacity } from "../imprint/ica.ts";
import { ImprintError, type Measured } from "../imprint/measured.ts";
import { holdCurrent } from "../imprint/self-discharge.ts";
import type { RecipeAnalysis } from "../recipes/recipe.schema.ts";
import { routeCell, type RouteDecision } from "./route.ts";
import type { RoutingRules } from "./routing-rules.schema.ts";

export const SECOND_LIFE_ROLES = {
  capacityDischarge: "capacity-discharge",
  pseudoOcv: "pseudo-ocv",
  dcirRest: "dcir-rest",
  dcirPulse: "dcir-pulse",
  hold: "hold",
  entropyPrefix: "entropy",
} as const;

/** The parts of a recipe's analysis section second-life grading reads; roles default to SECOND_LIFE_ROLES. */
export type SecondLifeAnalysis = Pick<RecipeAnalysis, "capacity" | "dcir" | "holdCurrent" | "ica" | "entropy">;

const DEFAULT_ANALYSIS: SecondLifeAnalysis = {};

export interface SecondLifeCell {
  serial: string;
  chemistry: ChemistryId;
  /** rated capacity [Ah]; default: the rules' reference for the chemistry */
  ratedCapacityAh?: number;
  /** the records came from simulated equipment (every figure derived from them is simulated) */
  simulated: boolean;
}

export interface SecondLifeGrade {
  serial: string;
  chemistry: ChemistryId;
  simulated: boolean;
  /** at C/3, at C/20, and the equilibrium capacity from the mode fit [Ah] */
  capacity: { dischargeAh: Measured | null; lowRateAh: Measured; equilibriumAh: Measured };
  dcirMilliohm: Measured;
  /** dQ/dV of the C/20 discharge and its peaks */
  ica: { curve: IncrementalCapacity; peaks: IcaPeak[] };
  selfDischargeMicroA: Measured | null;
  entropy: EntropyProfile;
  modes: ModeFit;
  soh: { capacity: Measured; resistance: ResistanceHealth; reference: "imprint" | "rated" };
  comparison: ImprintComparison | null;
  route: RouteDecision;
}

export class SecondLifeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecondLifeError";
  }
}

/** Pseudo-OCV points kept: enough for the fit, few enough for a fast one. */
const OCV_CURVE_POINTS = 120;
/**
 * Skip the start of the C/20 curve (the ~1 h RC pair is still charging, so the overpotential is not yet
 * constant) and its end (the overpotential rises towards the cut-off). Fractions of the discharged charge.
 */
const OCV_CURVE_WINDOW: [number, number] = [0.08, 0.97];
/** Standard uncertainty of a pseudo-OCV point: model mismatch (a constant overpotential), not noise [V]. */
const PSEUDO_OCV_SIGMA_V = 1e-3;
/** Standard uncertainty of a relaxed OCV V∞ from the entropy fit [V]. */
const RELAXED_OCV_SIGMA_V = 3e-4;
/** Added in quadrature to each dU/dT point's σ for the half-cell model's own error [mV/K]. */
const DUDT_MODEL_SIGMA_MV_PER_K = 0.005;

function segmentsOf(segments: readonly { role: string; records: ChannelRecord[] }[], role: string): ChannelRecord[][] {
  return segments.filter((s) => s.role === role).map((s) => s.records);
}

function one(segments: readonly { role: string; records: ChannelRecord[] }[], role: string, serial: string): ChannelRecord[] {
  const found = segmentsOf(segments, role);
  if (found.length !== 1) throw new SecondLifeError(`cell ${serial}: expected one "${role}" segment, found ${found.length}`);
  return found[0];
}

function pseudoOcvPoints(records: readonly ChannelRecord[]): OcvPoint[] {
  const loaded = records.filter((r) => r.currentA < 0);
  const dischargedAh = accumulatedSeries(loaded.map((r) => r.dischargeAh));
  const totalAh = dischargedAh[dischargedAh.length - 1];
  const inWindow = loaded.map((r, i) => ({ r, q: dischargedAh[i] })).filter(({ q }) => q >= OCV_CURVE_WINDOW[0] * totalAh && q <= OCV_CURVE_WINDOW[1] * totalAh);
  const stride = Math.max(1, Math.floor(inWindow.length / OCV_CURVE_POINTS));
  return inWindow
    .filter((_, i) => i % stride === 0)
    .map(({ r, q }) => ({ dischargedAh: q, voltageV: r.voltageV, temperatureC: r.temperatureC, sigmaV: PSEUDO_OCV_SIGMA_V, loaded: true }));
}

/**
 * One record run per entropy point, in order: the recipe tags a point's SOC step and its rest with the same role
 * "entropy:<label>" in two phases, which may arrive as two consecutive segments.
 */
function entropyPoints(segments: readonly { role: string; records: ChannelRecord[] }[], prefix: string): ChannelRecord[][] {
  const points: { role: string; records: ChannelRecord[] }[] = [];
  for (const s of segments) {
    if (!s.role.startsWith(`${prefix}:`)) continue;
    const last = points[points.length - 1];
    if (last && last.role === s.role) last.records = [...last.records, ...s.records];
    else points.push({ role: s.role, records: s.records });
  }
  return points.map((p) => p.records);
}

export function analyseSecondLife(
  segments: readonly { role: string; records: ChannelRecord[] }[],
  cell: SecondLifeCell,
  chemistry: Chemistry,
  rules: RoutingRules,
  imprint?: ImprintBaseline,
  analysis: SecondLifeAnalysis = DEFAULT_ANALYSIS,
): SecondLifeGrade {
  const { serial } = cell;
  const roles = {
    capacityDischarge: analysis.capacity?.discharge ?? SECOND_LIFE_ROLES.capacityDischarge,
    pseudoOcv: analysis.ica?.curve ?? SECOND_LIFE_ROLES.pseudoOcv,
    dcirRest: analysis.dcir?.rest ?? SECOND_LIFE_ROLES.dcirRest,
    dcirPulse: analysis.dcir?.pulse ?? SECOND_LIFE_ROLES.dcirPulse,
    hold: analysis.holdCurrent?.hold ?? SECOND_LIFE_ROLES.hold,
    entropyPrefix: analysis.entropy?.rest ?? SECOND_LIFE_ROLES.entropyPrefix,
  };
  const entropyMethod = analysis.entropy?.method === "potentiometric" ? "potentiometric" : "fast-relaxation-fit";
  const icaOptions = analysis.ica ? { gridStepV: analysis.ica.gridStepMv / 1000, smoothingV: analysis.ica.smoothingMv / 1000 } : {};
  if (chemistry.id !== cell.chemistry) throw new SecondLifeError(`cell ${serial}: chemistry ${chemistry.id} given for a ${cell.chemistry} cell`);
  const reference = rules.reference[cell.chemistry];
  const ratedCapacityAh = cell.ratedCapacityAh ?? reference?.capacityAh;
  if (!imprint?.capacityAh && ratedCapacityAh === undefined) {
    throw new SecondLifeError(`cell ${serial}: no imprint and no rated capacity (rules.reference.${cell.chemistry} is missing)`);
  }
  const m = rules.measurement;
  const withGain = (valueAh: number): Measured => ({ value: valueAh, uncertainty: valueAh * m.capacityRelative });

  try {
    const capacityRecords = segmentsOf(segments, roles.capacityDischarge);
    const dischargeAh = capacityRecords.length > 0 ? withGain(throughput(capacityRecords[capacityRecords.length - 1]).dischargeAh) : null;
    const pseudo = one(segments, roles.pseudoOcv, serial);
    const lowRateAh = withGain(throughput(pseudo).dischargeAh);
    const icaCurve = incrementalCapacity(pseudo.filter((r) => r.currentA < 0), icaOptions, `cell ${serial} ica`);
    const ica = { curve: icaCurve, peaks: findPeaks(icaCurve) };

    const pulse = pulseResistance(one(segments, roles.dcirRest, serial), one(segments, roles.dcirPulse, serial), undefined, `cell ${serial} dcir`);
    const r10 = pulse.r10sMilliohm;
    const dcirMilliohm = { value: r10.value, uncertainty: Math.hypot(r10.uncertainty, r10.value * m.dcirRelative) };

    const holds = segmentsOf(segments, roles.hold);
    const selfDischargeMicroA = holds.length > 0 ? holdCurrent(holds[holds.length - 1], `cell ${serial} hold`).holdCurrentMicroA : null;

    const measuredProfile = entropyProfile(entropyPoints(segments, roles.entropyPrefix), { method: entropyMethod, capacityAh: lowRateAh.value });

    const freshCapacityAh = imprint?.capacityAh?.value ?? (ratedCapacityAh as number);
    const modes = fitDegradationModes({
      chemistry,
      freshCapacityAh,
      ocv: [
        ...pseudoOcvPoints(pseudo),
        ...measuredProfile.points.map((p) => ({ dischargedAh: p.dischargedAh, voltageV: p.relaxedOcvV, temperatureC: p.referenceTemperatureC, sigmaV: RELAXED_OCV_SIGMA_V, loaded: false })),
      ],
      dudt: measuredProfile.points.map((p) => ({
        dischargedAh: p.dischargedAh,
        dudtMvPerK: p.dudtMvPerK,
        sigmaMvPerK: Math.hypot(p.dudtUncertaintyMvPerK, DUDT_MODEL_SIGMA_MV_PER_K),
      })),
    });

    // Re-placed on the fitted window, a point can leave the SOC window (a cell whose negative electrode saturates
    // at the top charges past its equilibrium 100 %): it was fitted, but is not reported as a profile point.
    const [socLo, socHi] = DEFAULT_SOC_WINDOW;
    const placed = measuredProfile.points.map((p) => ({ ...p, soc: 1 - (p.dischargedAh + modes.startOffsetAh.value) / modes.capacityAh.value }));
    const entropy: EntropyProfile = {
      ...measuredProfile,
      points: placed.filter((p) => p.soc >= socLo && p.soc <= socHi),
      excluded: [
        ...(measuredProfile.excluded ?? []),
        ...placed
          .filter((p) => p.soc < socLo || p.soc > socHi)
          .map((p) => ({ soc: p.soc, reason: `SOC ${(p.soc * 100).toFixed(1)} % on the fitted equilibrium window is outside ${socLo * 100}–${socHi * 100} %` })),
      ],
    };
    if (entropy.points.length === 0) throw new SecondLifeError(`cell ${serial}: no entropy point inside the SOC window on the fitted equilibrium window`);
    const equilibriumAh: Measured = {
      value: modes.capacityAh.value,
      uncertainty: Math.hypot(modes.capacityAh.uncertainty, modes.capacityAh.value * m.capacityRelative),
    };
    const referenceCapacity: Measured = imprint?.capacityAh ?? { value: ratedCapacityAh as number, uncertainty: reference?.capacityUncertaintyAh ?? 0 };
    const referenceDcir: Measured | undefined =
      imprint?.dcirMilliohm ?? (reference ? { value: reference.dcirMilliohm, uncertainty: reference.dcirUncertaintyMilliohm } : undefined);
    if (!referenceDcir) throw new SecondLifeError(`cell ${serial}: no imprint DCIR and no rules.reference.${cell.chemistry}.dcirMilliohm`);
    const soh = {
      capacity: sohByCapacity(equilibriumAh, referenceCapacity),
      resistance: sohByResistance(dcirMilliohm, referenceDcir, rules.endOfLifeResistanceGrowth),
      reference: imprint?.capacityAh ? ("imprint" as const) : ("rated" as const),
    };
    const comparison = imprint
      ? compareWithImprint(imprint, {
          capacityAh: dischargeAh ?? undefined,
          dcirMilliohm,
          icaPeaksV: ica.peaks.map((p) => p.voltageV),
          entropyProfile: entropy.points.map((p) => ({ soc: p.soc, dudtMvPerK: p.dudtMvPerK, dudtUncertaintyMvPerK: p.dudtUncertaintyMvPerK })),
        })
      : null;
    const route = routeCell(
      {
        sohCapacity: soh.capacity,
        resistanceGrowth: soh.resistance.resistanceGrowth,
        selfDischargeMicroA: selfDischargeMicroA ?? undefined,
        modes: { lli: modes.lli, lamNe: modes.lamNe, lamPe: modes.lamPe, negStoichiometryAtFull: modes.balance.x100 },
        maxDudtUncertaintyMvPerK: Math.max(...entropy.points.map((p) => p.dudtUncertaintyMvPerK)),
      },
      rules,
    );
    return { serial, chemistry: cell.chemistry, simulated: cell.simulated, capacity: { dischargeAh, lowRateAh, equilibriumAh }, dcirMilliohm, ica, selfDischargeMicroA, entropy, modes, soh, comparison, route };
  } catch (e) {
    if (e instanceof ImprintError) throw new SecondLifeError(`cell ${serial}: ${e.message}`);
    throw e;
  }
}
