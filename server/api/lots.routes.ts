/** Lots: list, detail, start from a tray, pause, resume, abort. */
import type { Router } from "express";
import { z } from "zod";
import { actor, allow, validate, type ApiDeps } from "./api-context.ts";

const idParam = z.object({ lotId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, "a lot id") });
/** Serials become file and index keys (server/store/station-store.ts assertSafeId): refuse paths and control characters here, with the field named. */
export const serialSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "letters, digits, '_', '.', '-' (max 64), starting with a letter or digit")
  .refine((s) => !s.includes(".."), "letters, digits, '_', '.', '-' without '..'");

export const startLotSchema = z
  .object({
    name: z.string().trim().min(1).max(80),
    recipe: z.string().trim().min(1).max(64),
    tray: z.string().trim().min(1).max(64).optional(),
    cyclerId: z.string().trim().min(1).max(64),
    cells: z
      .array(z.object({ slot: z.number().int().min(1).max(512), serial: serialSchema, channel: z.number().int().min(1).max(512).optional() }).strict())
      .min(1)
      .max(512)
      .superRefine((cells, ctx) => {
        const seen = new Map<string, number>();
        cells.forEach((c, i) => {
          const first = seen.get(c.serial);
          if (first !== undefined) ctx.addIssue({ code: "custom", path: [i, "serial"], message: `serial ${c.serial} is already in slot ${cells[first].slot}` });
          seen.set(c.serial, i);
        });
        const slots = new Set<number>();
        cells.forEach((c, i) => {
          if (slots.has(c.slot)) ctx.addIssue({ code: "custom", path: [i, "slot"], message: `slot ${c.slot} is used twice` });
          slots.add(c.slot);
        });
      }),
    nominalCapacityAh: z.number().positive().max(2000),
    chemistry: z.enum(["nmc811-graphite", "lfp-graphite"]),
  })
  .strict();

export const abortSchema = z.object({ reason: z.string().trim().min(1, "say why the lot is aborted").max(500) }).strict();

export function lotRoutes(r: Router, { station, audit }: ApiDeps): void {
  r.get("/lots", allow("station.read"), async (_req, res) => {
    res.json(await station.listLots());
  });
  r.get("/lots/:lotId", allow("station.read"), async (req, res) => {
    const { lotId } = validate(idParam, req.params, "params");
    res.json(await station.lot(lotId));
  });
  r.post("/lots", allow("lot.control"), async (req, res) => {
    const body = validate(startLotSchema, req.body);
    const user = actor(res);
    const lot = await station.startLot({ ...body, operator: user.username });
    audit.append({ actor: user.username, action: "lot.start", target: lot.id, details: { name: body.name, recipe: body.recipe, tray: body.tray, cyclerId: body.cyclerId, cells: body.cells.length } });
    res.status(201).json(lot);
  });
  r.post("/lots/:lotId/pause", allow("lot.control"), async (req, res) => {
    const { lotId } = validate(idParam, req.params, "params");
    const lot = await station.pauseLot(lotId, actor(res).username);
    audit.append({ actor: actor(res).username, action: "lot.pause", target: lotId });
    res.json(lot);
  });
  r.post("/lots/:lotId/resume", allow("lot.control"), async (req, res) => {
    const { lotId } = validate(idParam, req.params, "params");
    const lot = await station.resumeLot(lotId, actor(res).username);
    audit.append({ actor: actor(res).username, action: "lot.resume", target: lotId });
    res.json(lot);
  });
  r.post("/lots/:lotId/abort", allow("lot.control"), async (req, res) => {
    const { lotId } = validate(idParam, req.params, "params");
    const { reason } = validate(abortSchema, req.body);
    const lot = await station.abortLot(lotId, actor(res).username, reason);
    audit.append({ actor: actor(res).username, action: "lot.abort", target: lotId, details: { reason } });
    res.json(lot);
  });
}
