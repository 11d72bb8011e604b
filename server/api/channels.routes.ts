/** Channels: the recent trace of the run on a channel, so a chart opens with history before live values append. */
import type { Router } from "express";
import { z } from "zod";
import { MAX_HISTORY_POINTS } from "../station/channel-history.ts";
import { allow, validate, type ApiDeps } from "./api-context.ts";

const channelParams = z.object({
  cyclerId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "a cycler id"),
  channel: z.coerce.number().int().min(1).max(512),
});

export const channelHistoryQuerySchema = z
  .object({
    /** only the last this many seconds of the run (instrument clock); default: the last records the station keeps ready */
    seconds: z.coerce.number().positive().max(30 * 86_400).optional(),
    /** point budget; the station decimates to at most this many (and never more than its own cap) */
    maxPoints: z.coerce.number().int().min(2).max(MAX_HISTORY_POINTS).optional(),
  })
  .strict();

export function channelRoutes(r: Router, { station }: ApiDeps): void {
  r.get("/channels/:cyclerId/:channel/history", allow("station.read"), async (req, res) => {
    const { cyclerId, channel } = validate(channelParams, req.params, "params");
    const query = validate(channelHistoryQuerySchema, req.query, "query");
    res.json(await station.channelHistory(cyclerId, channel, query));
  });
}
