/** Cells by serial: history, imprint and every grade. */
import type { Router } from "express";
import { z } from "zod";
import { allow, validate, type ApiDeps } from "./api-context.ts";

const serialParam = z.object({ serial: z.string().trim().min(1).max(64) });

export function cellRoutes(r: Router, { station }: ApiDeps): void {
  r.get("/cells/:serial", allow("station.read"), async (req, res) => {
    const { serial } = validate(serialParam, req.params, "params");
    res.json(await station.cell(serial));
  });
}
