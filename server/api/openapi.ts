/**
 * OpenAPI 3.1 description of the station's REST API, served at GET /api/openapi.json. Request bodies are the
 * zod schemas the routes validate with (converted, so the document cannot drift from the validation); paths,
 * permissions and responses are written here. test/api/openapi.test.ts checks every mounted route is listed.
 */
import { z } from "zod";
import { PERMISSIONS, type Permission } from "../auth/permissions.ts";
import { abortSchema, startLotSchema } from "./lots.routes.ts";
import { shelveSchema } from "./alarms.routes.ts";
import { changePinSchema, loginSchema } from "./auth.routes.ts";
import { auditQuerySchema } from "./audit.routes.ts";
import { channelHistoryQuerySchema } from "./channels.routes.ts";
import { docBody } from "./recipes.routes.ts";
import { createUserSchema, patchUserSchema, resetPinSchema } from "./users.routes.ts";

type Json = Record<string, unknown>;

const schema = (s: z.ZodType): Json => z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Json;
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (s: Json, description = "OK"): Json => ({ description, content: { "application/json": { schema: s } } });
const error = (description: string): Json => json(ref("Error"), description);

interface Op {
  summary: string;
  /** none = public (no session needed) */
  permission?: Permission;
  /** signed in, any role (and allowed while a PIN change is pending) */
  session?: boolean;
  body?: z.ZodType;
  /** a non-JSON request body (media type → schema), e.g. an uploaded PDF */
  upload?: Record<string, Json>;
  query?: z.ZodObject;
  ok?: Json;
  okStatus?: number;
  tag: string;
}

function operation(path: string, o: Op): Json {
  const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
  const query = o.query
    ? Object.entries(o.query.shape).map(([name, s]) => ({ name, in: "query", required: false, schema: schema(s as z.ZodType) }))
    : [];
  const secured = o.permission !== undefined || o.session === true;
  const responses: Json = { [String(o.okStatus ?? 200)]: o.ok ?? { description: "OK" } };
  if (o.body || o.upload || params.length > 0 || o.query) responses["400"] = error("invalid input; `issues` names each field by path");
  if (secured) responses["401"] = error("not signed in or session expired");
  if (o.permission) responses["403"] = error(`role lacks ${o.permission} (${PERMISSIONS[o.permission].join(", ")} may), or a PIN change is pending`);
  if (params.length > 0) responses["404"] = error("not found");
  return {
    tags: [o.tag],
    summary: o.summary,
    ...(o.permission ? { "x-permission": o.permission, "x-roles": PERMISSIONS[o.permission] } : {}),
    ...(secured ? { security: [{ session: [] }] } : { security: [] }),
    ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
    ...(o.body ? { requestBody: { required: true, content: { "application/json": { schema: schema(o.body) } } } } : {}),
    ...(o.upload ? { requestBody: { required: true, content: Object.fromEntries(Object.entries(o.upload).map(([type, s]) => [type, { schema: s }])) } } : {}),
    responses,
  };
}

const any = { type: "object" };
const list = (item: Json): Json => ({ type: "array", items: item });

const ROUTES: [method: string, path: string, op: Op][] = [
  ["get", "/openapi.json", { tag: "meta", summary: "This document" }],
  ["get", "/health", { tag: "meta", summary: "Liveness and equipment links (served by the HTTP edge)" }],
  ["get", "/channels", { tag: "meta", summary: "Latest view of every channel (served by the HTTP edge; needs a session when the auth API is mounted)", permission: "station.read" }],
  ["post", "/auth/login", { tag: "auth", summary: "Log in by user or badge code + PIN; sets the httpOnly session cookie. 429 with Retry-After when locked out", body: loginSchema, ok: json(ref("Session")) }],
  ["post", "/auth/logout", { tag: "auth", summary: "End the session", okStatus: 204, ok: { description: "logged out" } }],
  ["get", "/auth/session", { tag: "auth", summary: "The signed-in user and their permissions", session: true, ok: json(ref("Session")) }],
  ["post", "/auth/change-pin", { tag: "auth", summary: "Change one's own PIN (required after first login / reset)", session: true, body: changePinSchema, ok: json(ref("Session")) }],
  ["get", "/lots", { tag: "lots", summary: "All lots", permission: "station.read", ok: json(list(any)) }],
  ["post", "/lots", { tag: "lots", summary: "Start a lot from a tray of cells", permission: "lot.control", body: startLotSchema, okStatus: 201, ok: json(any, "lot started") }],
  ["get", "/lots/{lotId}", { tag: "lots", summary: "Lot with runs, results and phases", permission: "station.read", ok: json(any) }],
  ["post", "/lots/{lotId}/pause", { tag: "lots", summary: "Pause every run of the lot", permission: "lot.control", ok: json(any) }],
  ["post", "/lots/{lotId}/resume", { tag: "lots", summary: "Resume a paused lot", permission: "lot.control", ok: json(any) }],
  ["post", "/lots/{lotId}/abort", { tag: "lots", summary: "Abort the lot, with a reason", permission: "lot.control", body: abortSchema, ok: json(any) }],
  ["get", "/channels/{cyclerId}/{channel}/history", { tag: "channels", summary: "Recent trace of the channel's active run (else its last run), oldest first, decimated to ≤ maxPoints (voltage extremes per bucket kept); 404 when the channel has had no run", permission: "station.read", query: channelHistoryQuerySchema, ok: json(ref("ChannelHistory")) }],
  ["get", "/cells/{serial}", { tag: "cells", summary: "A cell's history, imprint and grades", permission: "station.read", ok: json(any) }],
  ["get", "/alarms", { tag: "alarms", summary: "Active, unshelved alarms", permission: "station.read", ok: json(list(ref("Alarm"))) }],
  ["get", "/alarms/history", { tag: "alarms", summary: "Alarm history, newest first", permission: "station.read", query: z.object({ limit: z.number().int().min(1).max(5000).optional() }), ok: json(list(ref("Alarm"))) }],
  ["post", "/alarms/{id}/acknowledge", { tag: "alarms", summary: "Acknowledge an alarm (ISA-18.2)", permission: "alarm.acknowledge", ok: json(ref("Alarm")) }],
  ["post", "/alarms/{id}/shelve", { tag: "alarms", summary: "Shelve an alarm with a reason until an expiry", permission: "alarm.shelve", body: shelveSchema, ok: json(ref("Alarm")) }],
  ["get", "/recipes", { tag: "recipes", summary: "Recipes the station can run", permission: "station.read", ok: json(list(any)) }],
  ["get", "/recipes/{name}", { tag: "recipes", summary: "Current YAML of a recipe and its published versions", permission: "station.read", ok: json(ref("Document")) }],
  ["get", "/recipes/{name}/versions/{version}", { tag: "recipes", summary: "YAML of one published version", permission: "station.read", ok: json(ref("Document")) }],
  ["post", "/recipes/validate", { tag: "recipes", summary: "Validate recipe YAML without saving", permission: "config.validate", body: docBody, ok: json(any) }],
  ["post", "/recipes/{name}/versions", { tag: "recipes", summary: "Publish a new recipe version (409 if not newer than every published one)", permission: "config.edit", body: docBody, okStatus: 201, ok: json(any, "published") }],
  ["get", "/grading-rules", { tag: "recipes", summary: "Grading-rule documents", permission: "station.read", ok: json(list(any)) }],
  ["get", "/grading-rules/{name}", { tag: "recipes", summary: "Current YAML of a rule document and its versions", permission: "station.read", ok: json(ref("Document")) }],
  ["get", "/grading-rules/{name}/versions/{version}", { tag: "recipes", summary: "YAML of one published rule version", permission: "station.read", ok: json(ref("Document")) }],
  ["post", "/grading-rules/validate", { tag: "recipes", summary: "Validate grading-rule YAML without saving", permission: "config.validate", body: docBody, ok: json(any) }],
  ["post", "/grading-rules/{name}/versions", { tag: "recipes", summary: "Publish a new grading-rule version", permission: "config.edit", body: docBody, okStatus: 201, ok: json(any, "published") }],
  ["get", "/users", { tag: "users", summary: "All users (never PIN hashes)", permission: "user.manage", ok: json(list(ref("User"))) }],
  ["post", "/users", { tag: "users", summary: "Create a user (must change the PIN at first login)", permission: "user.manage", body: createUserSchema, okStatus: 201, ok: json(ref("User"), "created") }],
  ["patch", "/users/{username}", { tag: "users", summary: "Change name, role, badge; disable/enable", permission: "user.manage", body: patchUserSchema, ok: json(ref("User")) }],
  ["post", "/users/{username}/reset-pin", { tag: "users", summary: "Set a temporary PIN; the user must change it at next login", permission: "user.manage", body: resetPinSchema, ok: json(ref("User")) }],
  ["get", "/audit", { tag: "audit", summary: "Audit entries, newest first, filtered", permission: "audit.read", query: auditQuerySchema, ok: json(list(ref("AuditEntry"))) }],
  // Plant scope, forwarded to the plant service (server/plant/plant-proxy.routes.ts): 503 without one configured, 502/504 when it cannot answer.
  ["get", "/plant/health", { tag: "plant", summary: "The plant service's health (broker, database)", permission: "plant.read", ok: json(any) }],
  ["get", "/plant/stations", { tag: "plant", summary: "Every station of the plant with its last status", permission: "plant.read", ok: json(list(any)) }],
  ["get", "/plant/yield", { tag: "plant", summary: "Yield per line (graded cells by bin/route)", permission: "plant.read", query: z.object({ line: z.string().optional(), since: z.string().optional() }), ok: json(any) }],
  ["get", "/plant/throughput", { tag: "plant", summary: "Cells graded per hour per line", permission: "plant.read", query: z.object({ line: z.string().optional(), hours: z.string().optional(), until: z.string().optional() }), ok: json(any) }],
  ["get", "/plant/cells/{serial}", { tag: "plant", summary: "A cell's history across every station of the plant", permission: "plant.read", ok: json(any) }],
  ["get", "/certificates", { tag: "certificates", summary: "Certificate index entries, optionally of one lot", permission: "station.read", query: z.object({ lot: z.string().optional() }), ok: json(list(any)) }],
  ["get", "/certificates/public-key", { tag: "certificates", summary: "The station's Ed25519 public key (PEM) that verifies its certificates", ok: { description: "PEM", content: { "application/x-pem-file": { schema: { type: "string" } } } } }],
  ["post", "/certificates/verify", { tag: "certificates", summary: "Verify a certificate PDF or signed JSON (≤ 10 MB): authentic and unmodified?", upload: { "application/pdf": { type: "string", format: "binary" }, "application/json": any }, ok: json(any) }],
  ["get", "/certificates/{id}", { tag: "certificates", summary: "Signed certificate JSON", permission: "station.read", ok: json(any) }],
  ["get", "/certificates/{id}/pdf", { tag: "certificates", summary: "Certificate PDF", permission: "station.read", ok: { description: "PDF", content: { "application/pdf": { schema: { type: "string", format: "binary" } } } } }],
  ["post", "/certificates/{id}/reprint", { tag: "certificates", summary: "Render the PDF again from the signed JSON", permission: "certificate.manage", ok: { description: "PDF", content: { "application/pdf": { schema: { type: "string", format: "binary" } } } } }],
  ["get", "/lots/{lotId}/export", { tag: "certificates", summary: "Zip of a lot's certificates, passports and CSV", permission: "certificate.manage", ok: { description: "zip", content: { "application/zip": { schema: { type: "string", format: "binary" } } } } }],
  ["get", "/audit/verify", { tag: "audit", summary: "Verify the audit hash chain", permission: "audit.read", ok: json(any) }],
];

export function openApiDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const [method, path, op] of ROUTES) paths[path] = { ...paths[path], [method]: operation(path, op) };
  const str = { type: "string" };
  return {
    openapi: "3.1.0",
    info: {
      title: "AXVIAM Station API",
      version: "1.0.0",
      description:
        "REST API of one calibration station. Live data flows over socket.io (events in server/api/events.ts). Every mutating call checks the role on the server; `x-roles` lists who may call an operation.",
    },
    servers: [{ url: "/api" }],
    components: {
      securitySchemes: { session: { type: "apiKey", in: "cookie", name: "axviam_session" } },
      schemas: {
        Error: { type: "object", required: ["error"], properties: { error: str, issues: list({ type: "object", properties: { path: str, message: str } }) } },
        Session: { type: "object", properties: { user: ref("User"), permissions: list(str) } },
        User: { type: "object", properties: { username: str, displayName: str, role: { enum: ["operator", "supervisor", "qa", "admin"] }, badge: str, disabled: { type: "boolean" }, mustChangePin: { type: "boolean" } } },
        Alarm: { type: "object", properties: { id: str, source: str, condition: str, severity: { enum: ["high", "medium", "low"] }, message: str, state: { enum: ["active-unack", "active-ack", "returned-unack", "normal"] }, raisedAt: str, clearedAt: str, acknowledgedAt: str, acknowledgedBy: str, shelved: { type: "object", properties: { by: str, reason: str, untilIso: str } } } },
        Document: { type: "object", properties: { name: str, version: str, yaml: str, versions: list(str), summary: any } },
        ChannelHistory: {
          type: "object",
          properties: {
            key: str, runId: str, serial: str, recordsInWindow: { type: "integer" },
            points: list({ type: "object", properties: { seq: str, unixTimeS: { type: "number" }, testTimeS: { type: "number" }, voltageV: { type: "number" }, currentA: { type: "number" }, temperatureC: { type: "number" } } }),
          },
        },
        AuditEntry: { type: "object", properties: { seq: { type: "integer" }, at: str, actor: str, action: str, target: str, details: any, prevHash: str, hash: str } },
      },
    },
    paths,
  };
}
