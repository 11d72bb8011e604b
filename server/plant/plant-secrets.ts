/**
 * Secrets of the plant link (the broker password, the PostgreSQL password, the plant API token) come from one of
 * three places, checked once at start-up:
 *   <name>File: <path>   a file holding only the secret (Docker/Kubernetes secrets, systemd credentials);
 *                        relative to the config file's folder; one trailing newline is dropped
 *   <name>Env: <VAR>     an environment variable
 *   <name>: <value>      inline in the YAML — still accepted, with a warning in the log at every start
 * The schema admits at most one of them (secretSourceIssues); readSecret turns the chosen one into the value or a
 * PlantSecretError naming the config field and what is wrong, never the secret itself.
 */
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

/** zod field for `<name>Env` */
export const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name (letters, digits, '_')");
/** zod field for `<name>File` */
export const secretFilePath = z.string().min(1, "a file path");

export interface SecretSource {
  inline?: string;
  file?: string;
  env?: string;
}

export class PlantSecretError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = "PlantSecretError";
  }
}

/** zod superRefine helper: `name`, `nameFile` and `nameEnv` exclude each other. */
export function secretSourceIssues(obj: Record<string, unknown>, name: string, ctx: z.RefinementCtx): void {
  const set = [name, `${name}File`, `${name}Env`].filter((k) => obj[k] !== undefined);
  if (set.length > 1) ctx.addIssue({ code: "custom", path: [set[1]], message: `set only one of ${set.join(", ")}` });
}

export interface ReadSecretOptions {
  /** default: process.env */
  env?: NodeJS.ProcessEnv;
  /** folder relative secret files resolve against (the config file's); default: the working directory */
  baseDir?: string;
  /** told about secrets that are stored less safely than they could be */
  warn: (message: string) => void;
}

/**
 * The secret's value, or undefined when none of the three fields is set. `field` is the config path of the inline
 * form (e.g. "plant.mqtt.password"); errors and warnings name `${field}File` / `${field}Env` accordingly.
 */
export function readSecret(field: string, src: SecretSource, o: ReadSecretOptions): string | undefined {
  if (src.file !== undefined) {
    const file = path.resolve(o.baseDir ?? process.cwd(), src.file);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new PlantSecretError(`${field}File`, `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const value = text.replace(/\r?\n$/, "");
    if (value.length === 0) throw new PlantSecretError(`${field}File`, `${file} is empty`);
    // other users able to read the file can read the secret (no check on Windows, where mode bits mean little)
    if (process.platform !== "win32" && (statSync(file).mode & 0o077) !== 0) o.warn(`${field}File: ${file} is readable by group or others; chmod 600 it`);
    return value;
  }
  if (src.env !== undefined) {
    const value = (o.env ?? process.env)[src.env];
    if (value === undefined || value.length === 0) throw new PlantSecretError(`${field}Env`, `environment variable ${src.env} is not set or empty`);
    return value;
  }
  if (src.inline !== undefined) {
    o.warn(`${field} is written inline in the config file; prefer ${field}File (a secret file) or ${field}Env (an environment variable)`);
    return src.inline;
  }
  return undefined;
}
