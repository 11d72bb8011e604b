/**
 * Plant service configuration (station-config/plant.yaml): the broker it listens to, the PostgreSQL database it
 * writes, and the port of the plant-wide REST API. Validated once at start-up like the station config.
 */
import { z } from "zod";
import { envVarName, secretFilePath, secretSourceIssues } from "./plant-secrets.ts";

/** user:password@ in a connection string */
const inlinePassword = (url: string) => /^[a-z]+:\/\/[^/@]*:[^/@]*@/.test(url);

export const plantServiceConfigSchema = z
  .object({
    mqtt: z
      .object({
        url: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, "an mqtt://, mqtts://, ws:// or wss:// URL"),
        /** fixed, so the broker keeps the plant's persistent session (queued QoS 1 messages) while it is away */
        clientId: z.string().min(1).max(128).default("axviam-plant"),
        username: z.string().optional(),
        /** inline works but is logged as a warning: prefer passwordFile or passwordEnv (./plant-secrets.ts) */
        password: z.string().optional(),
        /** a file holding only the password; relative to this config file's folder */
        passwordFile: secretFilePath.optional(),
        passwordEnv: envVarName.optional(),
        topicPrefix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/).default("axviam"),
        reconnectMs: z.number().int().min(100).default(2000),
      })
      .strict()
      .superRefine((m, ctx) => secretSourceIssues(m, "password", ctx)),
    postgres: z
      .object({
        /** postgres://user@host:5432/database; a password inline (user:password@) works but is logged as a warning */
        url: z.string().regex(/^postgres(ql)?:\/\/\S+$/, "a postgres:// connection string"),
        /** the database user's password from a file (relative to this config file's folder) or an environment variable */
        passwordFile: secretFilePath.optional(),
        passwordEnv: envVarName.optional(),
        poolSize: z.number().int().min(1).max(100).default(5),
        /** first wait before retrying a failed write [ms]; doubles up to 30 s */
        retryMs: z.number().int().min(10).default(500),
      })
      .strict()
      .superRefine((p, ctx) => {
        if (p.passwordFile !== undefined && p.passwordEnv !== undefined) ctx.addIssue({ code: "custom", path: ["passwordEnv"], message: "set only one of passwordFile, passwordEnv" });
        if ((p.passwordFile ?? p.passwordEnv) !== undefined && inlinePassword(p.url)) {
          ctx.addIssue({ code: "custom", path: ["url"], message: "the URL carries a password as well as passwordFile/passwordEnv: keep it in one place" });
        }
      }),
    http: z
      .object({
        host: z.string().default("0.0.0.0"),
        port: z.number().int().min(0).max(65535).default(8090),
        /**
         * origin allowed to call the read-only API from a browser; the station HMI does not need it (its station
         * forwards plant queries), so by default no browser origin may
         */
        corsOrigin: z.string().optional(),
        /** bearer token every /api/plant query except /health must carry (the stations' plant.service.token*) */
        token: z.string().optional(),
        tokenFile: secretFilePath.optional(),
        tokenEnv: envVarName.optional(),
      })
      .strict()
      .superRefine((h, ctx) => secretSourceIssues(h, "token", ctx))
      .default({ host: "0.0.0.0", port: 8090 }),
    logging: z
      .object({ level: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info") })
      .strict()
      .default({ level: "info" }),
  })
  .strict();

export type PlantServiceConfig = z.infer<typeof plantServiceConfigSchema>;
