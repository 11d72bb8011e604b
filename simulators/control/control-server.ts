/**
 * The simulator-only control surface (DESIGN §5 "Faults to inject", "Ground truth"): a small HTTP JSON API on
 * loopback, on its own port, so a person or a third-party test can read ground truth and inject faults into a
 * running `npm run sim` while a station or another client talks to the instruments over OPC UA / Modbus.
 * Nothing here is reachable through the cycler protocols. Endpoints and what each fault does: docs/simulators.md.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import { describeIssues } from "../../server/domain/equipment/program.ts";
import type { SimChamber } from "../chamber/sim-chamber.ts";
import { SimRequestError, type LinkFaults } from "../cycler/sim-cycler-api.ts";
import type { SimCycler } from "../cycler/sim-cycler.ts";
import type { SimHost } from "../sim-host.ts";

export interface SimControlServerOptions {
  /** default 127.0.0.1: the control surface is for the bench it runs on, not the plant network */
  host?: string;
  /** 0 = ephemeral (reported as `port`) */
  port: number;
}

export interface SimControlServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** A request the control surface refuses: 400 bad body, 404 unknown instrument or channel. */
class ControlError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
    this.name = "ControlError";
  }
}

/** Per-channel faults by the URL's :kind; each validates its own body and applies it to the cycler core. */
const CHANNEL_FAULTS: Record<string, (cycler: SimCycler, channel: number, body: unknown) => void> = {
  hardware: (c, ch, body) => c.faults.hardware(ch, parseBody(z.object({ active: z.boolean() }).strict(), body).active),
  "contact-resistance": (c, ch, body) => c.faults.contactResistance(ch, parseBody(z.object({ ohm: z.number().min(0).max(1000) }).strict(), body).ohm),
  "over-temperature": (c, ch, body) => c.faults.overTemperature(ch, parseBody(z.object({ heatingK: z.number().min(0).max(200) }).strict(), body).heatingK),
  offline: (c, ch, body) => c.faults.offline(ch, parseBody(z.object({ offline: z.boolean() }).strict(), body).offline),
};

const rebootBody = z.object({ downtimeS: z.number().min(0).max(86_400).optional() }).strict();
const linkBody = z
  .object({
    dropped: z.boolean().optional(),
    delayMs: z.number().int().min(0).max(600_000).optional(),
    corruptChannels: z.array(z.number().int().min(1)).optional(),
  })
  .strict();
const chamberFailureBody = z.object({ kind: z.enum(["none", "heater", "compressor"]) }).strict();

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) throw new ControlError(400, describeIssues(r.error.issues, "body"));
  return r.data;
}

const protocolOf = (endpoint: string) => endpoint.slice(0, endpoint.indexOf(":")).replace("opc.tcp", "opcua");

export async function startSimControlServer(host: SimHost, o: SimControlServerOptions): Promise<SimControlServer> {
  const { env } = host;
  const cyclerOf = (id: string): SimCycler => {
    const c = env.cyclers.get(id);
    if (!c) throw new ControlError(404, `no simulated cycler "${id}" (have: ${[...env.cyclers.keys()].join(", ") || "none"})`);
    return c;
  };
  const chamberOf = (id: string): SimChamber => {
    const c = env.chambers.get(id);
    if (!c) throw new ControlError(404, `no simulated chamber "${id}" (have: ${[...env.chambers.keys()].join(", ") || "none"})`);
    return c;
  };
  const linkOf = (id: string): LinkFaults => {
    const f = host.frontEnds.get(id);
    if (!f) throw new ControlError(404, `no front-end "${id}" (have: ${[...host.frontEnds.keys()].join(", ")})`);
    return f.faults;
  };
  const channelOf = (cycler: SimCycler, raw: string): number => {
    const channel = Number(raw);
    const count = cycler.info().channelCount;
    if (!Number.isInteger(channel) || channel < 1 || channel > count) throw new ControlError(404, `cycler ${cycler.id}: no channel ${raw} (channels 1..${count})`);
    return channel;
  };
  const linkView = (f: LinkFaults) => ({ dropped: f.dropped, delayMs: f.delayMs, corruptChannels: [...f.corruptChannels] });

  const app = express();
  app.disable("x-powered-by");
  app.use(express.json({ limit: "64kb" }));

  app.get("/instruments", (_req, res) => {
    res.json({
      simulated: true,
      clock: { speed: env.clock.speed, nowUnixS: env.clock.nowUnixS() },
      cyclers: [...env.cyclers].map(([id, c]) => {
        const info = c.info();
        const endpoint = host.endpoint(id);
        return { id, protocol: protocolOf(endpoint), endpoint, channelCount: info.channelCount, bootId: info.bootId, link: linkView(linkOf(id)) };
      }),
      chambers: [...env.chambers].map(([id, c]) => {
        const endpoint = host.endpoint(id);
        return { id, protocol: protocolOf(endpoint), endpoint, reading: c.read(), link: linkView(linkOf(id)) };
      }),
    });
  });

  app.get("/cyclers/:id/channels/:channel/truth", (req, res) => {
    const cycler = cyclerOf(req.params.id);
    const cell = cycler.cell(channelOf(cycler, req.params.channel));
    res.json({ simulated: true, ...cell.truth(), contactResistanceOhm: cell.contactResistanceOhm });
  });

  app.put("/cyclers/:id/channels/:channel/faults/:kind", (req, res) => {
    const cycler = cyclerOf(req.params.id);
    const channel = channelOf(cycler, req.params.channel);
    const fault = Object.hasOwn(CHANNEL_FAULTS, req.params.kind) ? CHANNEL_FAULTS[req.params.kind] : undefined;
    if (!fault) throw new ControlError(404, `no channel fault "${req.params.kind}" (have: ${Object.keys(CHANNEL_FAULTS).join(", ")})`);
    fault(cycler, channel, req.body);
    const live = cycler.live()[channel - 1];
    // JSON has no bigint: the sequence number travels as a decimal string
    res.json({ cycler: cycler.id, channel, fault: req.params.kind, live: { ...live, lastSeq: live.lastSeq.toString() } });
  });

  app.post("/cyclers/:id/reboot", (req, res) => {
    const cycler = cyclerOf(req.params.id);
    const { downtimeS } = parseBody(rebootBody, req.body);
    cycler.faults.reboot(downtimeS);
    res.json({ cycler: cycler.id, bootId: cycler.info().bootId });
  });

  app.get("/front-ends/:id/link", (req, res) => {
    res.json(linkView(linkOf(req.params.id)));
  });

  app.put("/front-ends/:id/link", (req, res) => {
    const faults = linkOf(req.params.id);
    const b = parseBody(linkBody, req.body);
    if (b.delayMs !== undefined) faults.delayMs = b.delayMs;
    if (b.corruptChannels !== undefined) faults.corruptChannels = b.corruptChannels;
    if (b.dropped !== undefined) faults.dropped = b.dropped;
    res.json(linkView(faults));
  });

  app.put("/chambers/:id/failure", (req, res) => {
    const chamber = chamberOf(req.params.id);
    const { kind } = parseBody(chamberFailureBody, req.body);
    chamber.faults.failure(kind);
    res.json({ chamber: chamber.id, reading: chamber.read() });
  });

  app.use((req, res) => {
    res.status(404).json({ error: `no such endpoint: ${req.method} ${req.path} (see docs/simulators.md)` });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ControlError) res.status(err.status).json({ error: err.message });
    else if (err instanceof SimRequestError || err instanceof RangeError) res.status(400).json({ error: err.message });
    else if ((err as { type?: string }).type === "entity.parse.failed") res.status(400).json({ error: "body is not valid JSON" });
    else res.status(500).json({ error: err instanceof Error ? err.message : String(err) });
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(o.port, o.host ?? "127.0.0.1", (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${address.includes(":") ? `[${address}]` : address}:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
