import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { buildPassport, passportJsonSchema, passportSchema } from "../../server/certificates/passport.ts";
import type { PassportInput } from "../../server/certificates/passport.ts";

const input: PassportInput = {
  serial: "CELL-0001",
  chemistry: "nmc811-graphite",
  lot: "LOT-7",
  manufacturer: "Example Cells GmbH",
  station: { id: "st-01", name: "AXVIAM Station 01" },
  certificateId: "0b8e7c1a-1111-4a2b-9c3d-000000000001",
  simulated: true,
  imprintedAt: "2024-01-10T08:00:00.000Z",
  measuredAt: "2026-03-14T09:26:53.000Z",
  ratedCapacityAh: 5,
  initialCapacityAh: 5.0,
  remainingCapacityAh: 4.0,
  initialInternalResistanceMilliohm: 20,
  currentInternalResistanceMilliohm: 25,
  selfDischargeMvPerDay: 0.2,
  fullEquivalentCycles: 812,
  negativeEvents: [{ kind: "over-temperature", at: "2025-07-01T12:00:00.000Z", description: "pack reported 62 °C" }],
};

describe("cell passport", () => {
  it("derives fade, resistance increase and SOH by their definitions", () => {
    const p = buildPassport(input);
    expect(p.capacityFade).toEqual({ value: 20, unit: "%" }); // (5 − 4) / 5
    expect(p.internalResistanceIncrease).toEqual({ value: 25, unit: "%" }); // (25 − 20) / 20
    expect(p.stateOfHealth).toEqual({ value: 80, unit: "%" }); // 4 / 5
    expect(p.selfDischargeRate).toEqual({ value: 0.2, unit: "mV/day" });
    expect(p.remainingCapacity.unit).toBe("Ah");
  });

  it("leaves derived figures out when their inputs are unknown instead of inventing them", () => {
    const p = buildPassport({ ...input, initialCapacityAh: undefined, initialInternalResistanceMilliohm: undefined });
    expect(p.capacityFade).toBeUndefined();
    expect(p.internalResistanceIncrease).toBeUndefined();
    expect(p.currentInternalResistance).toEqual({ value: 25, unit: "mΩ" });
  });

  it("rejects impossible inputs with the serial and field", () => {
    expect(() => buildPassport({ ...input, ratedCapacityAh: 0 })).toThrow(/CELL-0001: ratedCapacityAh must be a positive number/);
    expect(() => buildPassport({ ...input, measuredAt: "yesterday" })).toThrow(/CELL-0001: dates\.measuredAt/);
  });

  it("docs/passport.schema.json is the generated twin of the zod schema", async () => {
    const committed = JSON.parse(await readFile(new URL("../../docs/passport.schema.json", import.meta.url), "utf8"));
    expect(committed).toEqual(passportJsonSchema());
    expect(committed.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
  });

  it("a built passport validates against the JSON Schema with an independent validator", () => {
    // Ajv 6 (present via eslint) implements draft-07; the generated schema uses only keywords
    // whose meaning is the same in draft-07 and 2020-12, so it can check it without $schema.
    const Ajv = createRequire(import.meta.url)("ajv") as new (o: object) => { validate(s: object, d: unknown): boolean; errorsText(): string };
    const { $schema: _ignored, ...schema } = passportJsonSchema();
    const ajv = new Ajv({ allErrors: true, format: "full" });
    const passport = buildPassport(input);
    expect(ajv.validate(schema, passport), ajv.errorsText()).toBe(true);
    expect(ajv.validate(schema, { ...passport, stateOfHealth: { value: 80, unit: "percent" } })).toBe(false);
    expect(ajv.validate(schema, { ...passport, extra: 1 })).toBe(false);
    expect(passportSchema.safeParse(JSON.parse(JSON.stringify(passport))).success).toBe(true);
  });
});
