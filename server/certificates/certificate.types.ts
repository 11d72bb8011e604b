/**
 * Certificate content model: what one signed certificate states about one cell's grade.
 * It is deliberately independent of the analysis modules (imprint, second-life): they map
 * their results into this shape, so a certificate stays readable when the analysis evolves.
 * The zod schemas are the single source; the types are inferred from them.
 */
import { z } from "zod";

/** Bump when the meaning or shape of CertificateContent changes; verifiers reject unknown versions. */
export const CERTIFICATE_SCHEMA_VERSION = 1;

const finite = z.number().finite();
const nonEmpty = z.string().min(1);

export const certificateResultSchema = z.object({
  /** machine name of the figure, e.g. "capacityAh", "dcir10sMilliohm" */
  figure: nonEmpty,
  /** human label printed on the certificate */
  label: nonEmpty,
  value: finite,
  unit: z.string(),
  /** expanded uncertainty of value, same unit */
  uncertainty: finite.nonnegative().optional(),
  limit: z.object({ min: finite.optional(), max: finite.optional() }).optional(),
  pass: z.boolean().optional(),
});

export const decisionReasonSchema = z.object({
  message: nonEmpty,
  figure: z.string().optional(),
  value: finite.optional(),
  unit: z.string().optional(),
  threshold: finite.optional(),
});

export const curveSeriesSchema = z
  .object({
    name: nonEmpty,
    x: z.array(finite),
    y: z.array(finite),
    /** per-point uncertainty of y (same unit), drawn as error bars */
    err: z.array(finite.nonnegative()).optional(),
  })
  .refine((s) => s.x.length === s.y.length && (s.err === undefined || s.err.length === s.y.length), {
    message: "series x, y and err must have the same length",
  });

/**
 * voltage: y in V; dqdv: y in Ah/V; dudt: y in mV/K (the renderer derives the
 * ΔS = F·dU/dT axis in J/(mol·K) from it), imprint overlay as a second series.
 */
export const certificateCurveSchema = z.object({
  id: z.enum(["voltage", "dqdv", "dudt"]),
  title: nonEmpty,
  xLabel: nonEmpty,
  yLabel: nonEmpty,
  series: z.array(curveSeriesSchema).min(1),
});

export const certificateContentSchema = z.object({
  schemaVersion: z.literal(CERTIFICATE_SCHEMA_VERSION),
  id: z.uuid(),
  /** ISO 8601 UTC */
  issuedAt: z.iso.datetime(),
  station: z.object({ id: nonEmpty, name: nonEmpty }),
  identity: z.object({
    serial: nonEmpty,
    chemistry: nonEmpty,
    nominalCapacityAh: finite.positive(),
    lot: nonEmpty,
    cycler: nonEmpty,
    channel: z.number().int().nonnegative(),
    recipe: z.object({ name: nonEmpty, version: nonEmpty }),
    operator: nonEmpty,
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime(),
  }),
  kind: z.enum(["imprint", "second-life"]),
  /** true when any figure comes from simulated equipment; printed as a banner */
  simulated: z.boolean(),
  results: z.array(certificateResultSchema),
  decision: z.object({
    kind: z.enum(["bin", "route"]),
    value: nonEmpty,
    reasons: z.array(decisionReasonSchema),
  }),
  curves: z.array(certificateCurveSchema),
  /** how uncertainties were obtained (coverage factor, method), one note per line */
  uncertaintyNotes: z.array(z.string()),
});

export const signedCertificateSchema = z.object({
  content: certificateContentSchema,
  /** Ed25519 signature over the canonical JSON (RFC 8785) of content, base64 */
  signature: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/),
  /** SHA-256 of the signer's public key (SPKI DER), lowercase hex */
  publicKeyFingerprint: z.string().regex(/^[0-9a-f]{64}$/),
});

export type CertificateResult = z.infer<typeof certificateResultSchema>;
export type DecisionReason = z.infer<typeof decisionReasonSchema>;
export type CertificateCurve = z.infer<typeof certificateCurveSchema>;
export type CertificateContent = z.infer<typeof certificateContentSchema>;
export type SignedCertificate = z.infer<typeof signedCertificateSchema>;
