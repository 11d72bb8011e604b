/**
 * Per-cell passport JSON, aligned with the battery-passport performance and durability
 * fields (EU Battery Regulation 2023/1542 Annex XIII 1(b) and Annex IV; GBA Battery Pass
 * data model): rated, initial and remaining capacity, capacity fade, initial and current
 * internal resistance and its increase, self-discharge rate, state of health, full
 * equivalent cycles, negative events. Every quantity carries its unit.
 *
 * The zod schema is the source; docs/passport.schema.json (JSON Schema 2020-12) is generated
 * from it by passportJsonSchema() and a test keeps the committed file identical.
 */
import { z } from "zod";

export const PASSPORT_SCHEMA_ID = "axviam-cell-passport/1";

const quantity = <U extends string>(unit: U) =>
  z
    .object({
      value: z.number(),
      unit: z.literal(unit),
      /** expanded uncertainty, same unit */
      uncertainty: z.number().nonnegative().optional(),
    })
    .strict();

const isoDate = z.iso.datetime();

export const passportSchema = z
  .object({
    schema: z.literal(PASSPORT_SCHEMA_ID),
    serial: z.string().min(1),
    chemistry: z.string().min(1),
    lot: z.string().min(1),
    manufacturer: z.string().min(1).optional(),
    station: z.object({ id: z.string().min(1), name: z.string().min(1) }).strict(),
    certificateId: z.uuid().optional(),
    /** true when figures come from simulated equipment */
    simulated: z.boolean(),
    dates: z
      .object({
        manufacturedAt: isoDate.optional(),
        imprintedAt: isoDate.optional(),
        measuredAt: isoDate,
      })
      .strict(),
    ratedCapacity: quantity("Ah"),
    initialCapacity: quantity("Ah").optional(),
    remainingCapacity: quantity("Ah"),
    /** (initial − remaining) / initial · 100; absent without an initial capacity */
    capacityFade: quantity("%").optional(),
    initialInternalResistance: quantity("mΩ").optional(),
    currentInternalResistance: quantity("mΩ").optional(),
    /** (current − initial) / initial · 100 */
    internalResistanceIncrease: quantity("%").optional(),
    /** open-circuit voltage decay (K-value) */
    selfDischargeRate: quantity("mV/day").optional(),
    /** remaining / rated capacity · 100 (capacity-based SOH) */
    stateOfHealth: quantity("%"),
    fullEquivalentCycles: quantity("1").optional(),
    negativeEvents: z.array(
      z
        .object({
          kind: z.enum(["over-temperature", "over-voltage", "under-voltage", "over-current", "deep-discharge", "micro-short-suspected", "other"]),
          at: isoDate.optional(),
          description: z.string().min(1),
        })
        .strict(),
    ),
  })
  .strict();

export type CellPassport = z.infer<typeof passportSchema>;
export type NegativeEvent = CellPassport["negativeEvents"][number];

export interface PassportInput {
  serial: string;
  chemistry: string;
  lot: string;
  manufacturer?: string;
  station: { id: string; name: string };
  certificateId?: string;
  simulated: boolean;
  manufacturedAt?: string;
  imprintedAt?: string;
  measuredAt: string;
  ratedCapacityAh: number;
  initialCapacityAh?: number;
  remainingCapacityAh: number;
  remainingCapacityUncertaintyAh?: number;
  initialInternalResistanceMilliohm?: number;
  currentInternalResistanceMilliohm?: number;
  selfDischargeMvPerDay?: number;
  fullEquivalentCycles?: number;
  negativeEvents?: NegativeEvent[];
}

export class PassportError extends Error {
  constructor(serial: string, reason: string) {
    super(`passport ${serial}: ${reason}`);
    this.name = "PassportError";
  }
}

/** Builds and validates a passport; derived figures are computed only when their inputs exist. */
export function buildPassport(input: PassportInput): CellPassport {
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new PassportError(input.serial, `${name} must be a positive number, got ${v}`);
  };
  positive("ratedCapacityAh", input.ratedCapacityAh);
  positive("initialCapacityAh", input.initialCapacityAh);
  positive("initialInternalResistanceMilliohm", input.initialInternalResistanceMilliohm);
  const q = <U extends string>(value: number, unit: U, uncertainty?: number) =>
    uncertainty === undefined ? { value, unit } : { value, unit, uncertainty };
  const percentChange = (from: number, to: number) => ((to - from) / from) * 100;
  const { initialCapacityAh: c0, remainingCapacityAh: c, initialInternalResistanceMilliohm: r0, currentInternalResistanceMilliohm: r } = input;

  const passport = {
    schema: PASSPORT_SCHEMA_ID,
    serial: input.serial,
    chemistry: input.chemistry,
    lot: input.lot,
    manufacturer: input.manufacturer,
    station: { ...input.station },
    certificateId: input.certificateId,
    simulated: input.simulated,
    dates: { manufacturedAt: input.manufacturedAt, imprintedAt: input.imprintedAt, measuredAt: input.measuredAt },
    ratedCapacity: q(input.ratedCapacityAh, "Ah"),
    initialCapacity: c0 === undefined ? undefined : q(c0, "Ah"),
    remainingCapacity: q(c, "Ah", input.remainingCapacityUncertaintyAh),
    capacityFade: c0 === undefined ? undefined : q(-percentChange(c0, c), "%"),
    initialInternalResistance: r0 === undefined ? undefined : q(r0, "mΩ"),
    currentInternalResistance: r === undefined ? undefined : q(r, "mΩ"),
    internalResistanceIncrease: r0 === undefined || r === undefined ? undefined : q(percentChange(r0, r), "%"),
    selfDischargeRate: input.selfDischargeMvPerDay === undefined ? undefined : q(input.selfDischargeMvPerDay, "mV/day"),
    stateOfHealth: q((c / input.ratedCapacityAh) * 100, "%"),
    fullEquivalentCycles: input.fullEquivalentCycles === undefined ? undefined : q(input.fullEquivalentCycles, "1"),
    negativeEvents: [...(input.negativeEvents ?? [])],
  };
  const parsed = passportSchema.safeParse(passport);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PassportError(input.serial, `${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

/** JSON Schema (draft 2020-12) of the passport, the form committed as docs/passport.schema.json. */
export function passportJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(passportSchema, { target: "draft-2020-12" }),
    $id: "https://axviam.example/schemas/cell-passport-1.json",
    title: "AXVIAM cell passport",
    description: "Per-cell passport aligned with EU Battery Regulation 2023/1542 Annex XIII performance and durability fields; every quantity has a unit.",
  };
}
