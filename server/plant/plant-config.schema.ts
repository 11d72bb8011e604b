/**
 * Plant service configuration (station-config/plant.yaml): the broker it listens to, the PostgreSQL database it
 * writes, and the port of the plant-wide REST API. Validated once at start-up like the station config.
 */
import { z } from "zod";

export const plantServiceConfigSchema = z
  .object({
    mqtt: z
      .object({
        url: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, "an mqtt://, mqtts://, ws:// or wss:// URL"),
        /** fixed, so the broker keeps the plant's persistent session (queued QoS 1 messages) while it is away */
        clientId: z.string().min(1).max(128).default("axviam-plant"),
        username: z.string().optional(),
        password: z.string().optional(),
        topicPrefix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/).default("axviam"),
        reconnectMs: z.number().int().min(100).default(2000),
      })
      .strict(),
    postgres: z
      .object({
        /** postgres://user:password@host:5432/database */
        url: z.string().regex(/^postgres(ql)?:\/\/\S+$/, "a postgres:// connection string"),
        poolSize: z.number().int().min(1).max(100).default(5),
        /** first wait before retrying a failed write [ms]; doubles up to 30 s */
        retryMs: z.number().int().min(10).default(500),
      })
      .strict(),
    http: z
      .object({
        host: z.string().default("0.0.0.0"),
        port: z.number().int().min(0).max(65535).default(8090),
        /** origin allowed to call the read-only API from a browser (the station HMI); "*" = any */
        corsOrigin: z.string().default("*"),
      })
      .strict()
      .default({ host: "0.0.0.0", port: 8090, corsOrigin: "*" }),
    logging: z
      .object({ level: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info") })
      .strict()
      .default({ level: "info" }),
  })
  .strict();

export type PlantServiceConfig = z.infer<typeof plantServiceConfigSchema>;
