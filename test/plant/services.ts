/**
 * Real Mosquitto and PostgreSQL for plant tests and the plant benchmark, started from temp folders on ephemeral
 * loopback ports and stopped at the end. Debian packages `mosquitto` and `postgresql` must be installed; a missing
 * binary is an error that says which package to install (CI installs them), never a silent skip.
 * As root, PostgreSQL refuses to run, so initdb/postgres run as the `postgres` user (runuser) on a chowned folder,
 * and Mosquitto (which drops root to its `mosquitto` user) gets a folder that user owns.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

export class MissingToolError extends Error {
  constructor(tool: string, pkg: string, looked: string) {
    super(`${tool} not found (looked in ${looked}); install the Debian package: apt-get install -y ${pkg}`);
    this.name = "MissingToolError";
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

const tcpOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });

/** As root: a folder the service's system user owns (the Debian package creates that user). */
async function giveTo(dir: string, user: string, pkg: string): Promise<void> {
  if (!isRoot) return;
  try {
    const [uid, gid] = await Promise.all(["-u", "-g"].map(async (f) => Number((await run("id", [f, user])).stdout.trim())));
    chownSync(dir, uid, gid);
  } catch {
    throw new Error(`running as root needs the system user "${user}" (created by the Debian package ${pkg})`);
  }
}

// ---------------------------------------------------------------- Mosquitto

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? "/usr/sbin/mosquitto";
export const MOSQUITTO_PASSWD_BIN = process.env.MOSQUITTO_PASSWD_BIN ?? "/usr/bin/mosquitto_passwd";

export interface Broker {
  port: number;
  url: string;
  dir: string;
  /** SIGTERM: Mosquitto writes its persistence file and exits */
  stop(): Promise<void>;
  /** SIGKILL: a crash — only what Mosquitto had autosaved survives */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** stop, then remove the folder */
  dispose(): Promise<void>;
}

export interface BrokerOptions {
  /** the broker refuses anonymous clients and knows these user → password pairs (mosquitto_passwd) */
  users?: Record<string, string>;
  /** acl_file content (topic/pattern rules per user); needs `users` */
  acl?: string;
  /**
   * true: save the persistence file after every change. Default false: save every 1000 s only, so a kill -9 loses
   * everything queued since the start — the worst case the stations' end-to-end receipts must cover.
   */
  saveOnChange?: boolean;
}

export async function startBroker(o: BrokerOptions = {}): Promise<Broker> {
  if (!existsSync(MOSQUITTO_BIN)) throw new MissingToolError("mosquitto", "mosquitto", MOSQUITTO_BIN);
  const dir = mkdtempSync(path.join(os.tmpdir(), "axviam-mosquitto-"));
  await giveTo(dir, "mosquitto", "mosquitto");
  const port = await freePort();
  const conf = path.join(dir, "mosquitto.conf");
  for (const [i, [user, password]] of Object.entries(o.users ?? {}).entries()) {
    await run(MOSQUITTO_PASSWD_BIN, [...(i === 0 ? ["-c"] : []), "-b", path.join(dir, "passwd"), user, password]);
  }
  if (o.users) await giveTo(path.join(dir, "passwd"), "mosquitto", "mosquitto");
  if (o.acl !== undefined) {
    writeFileSync(path.join(dir, "acl"), o.acl);
    await giveTo(path.join(dir, "acl"), "mosquitto", "mosquitto");
  }
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      ...(o.users ? ["allow_anonymous false", `password_file ${dir}/passwd`] : ["allow_anonymous true"]),
      ...(o.acl !== undefined ? [`acl_file ${dir}/acl`] : []),
      "persistence true",
      `persistence_location ${dir}/`,
      ...(o.saveOnChange ? ["autosave_on_changes true", "autosave_interval 1"] : ["autosave_interval 1000"]),
      // the plant service may be away for long: keep its queue (Mosquitto's default caps it at 1000)
      "max_queued_messages 1000000",
      "max_inflight_messages 200",
      "log_dest none",
      "",
    ].join("\n"),
  );
  let proc: ChildProcess | undefined;
  let stderr = "";
  const end = async (signal: NodeJS.Signals) => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill(signal);
    });
  };
  const broker: Broker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    async start() {
      stderr = "";
      proc = spawn(MOSQUITTO_BIN, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
      proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<never>((_, reject) => proc!.once("exit", (code) => reject(new Error(`mosquitto exited (${code}): ${stderr.trim()}`))));
      await Promise.race([waitFor(`mosquitto on port ${port}`, () => tcpOpen(port), 10_000), exited]);
      exited.catch(() => undefined);
    },
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
    async dispose() {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}

// ---------------------------------------------------------------- PostgreSQL

export function postgresBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, "bin", "initdb"))) : [];
  if (versions.length === 0) throw new MissingToolError("initdb", "postgresql", `${root}/<version>/bin`);
  return path.join(root, versions.sort((a, b) => Number(b) - Number(a))[0], "bin");
}

export interface Database {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth, loopback only) */
  url: string;
  dir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

async function asPostgres(bin: string, args: string[]): Promise<string> {
  const [cmd, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  try {
    return (await run(cmd, argv, { timeout: 60_000 })).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${path.basename(bin)} ${args.join(" ")} failed: ${(err.stderr ?? err.message).trim()}`);
  }
}

export async function startDatabase(): Promise<Database> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(path.join(os.tmpdir(), "axviam-pg-"));
  await giveTo(dir, "postgres", "postgresql");
  const data = path.join(dir, "data");
  const port = await freePort();
  await asPostgres(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const ctl = path.join(bin, "pg_ctl");
  const db: Database = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    async start() {
      // fsync off: test data only; the server is killed with the folder anyway
      await asPostgres(ctl, ["-D", data, "-l", path.join(dir, "postgres.log"), "-w", "-t", "60", "-o", `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off -c full_page_writes=off`, "start"]);
    },
    async stop() {
      if (!existsSync(path.join(data, "postmaster.pid"))) return;
      await asPostgres(ctl, ["-D", data, "-w", "-t", "60", "-m", "fast", "stop"]);
    },
    async dispose() {
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await db.start();
  return db;
}
