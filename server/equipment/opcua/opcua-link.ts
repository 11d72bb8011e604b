/**
 * One supervised OPC UA session (STYLE example 3): connect, request timeouts, translation of protocol errors into
 * EquipmentError, link state events, and reconnection with capped exponential backoff in the background after a drop.
 * Each reconnect builds a fresh client (node-opcua's own reconnection is switched off, maxRetry 0), so a half-dead
 * secure channel never lingers.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AttributeIds,
  OPCUAClient,
  StatusCodes,
  TimestampsToReturn,
  UserTokenType,
  type ClientSession,
  type DataValue,
  type UserIdentityInfo,
  type Variant,
} from "node-opcua-client";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import { EquipmentError, type LinkState } from "../cycler-driver.ts";
import { describeSecurity, messageSecurityMode, securityPolicy, type OpcuaSecurity } from "./opcua-security.ts";

export interface OpcuaLinkOptions {
  endpointUrl: string;
  namespaceUri: string;
  /** for error messages */
  equipmentId: string;
  /** per request [ms]; default 3000 */
  requestTimeoutMs?: number;
  /** reconnect backoff: first delay, doubled per failed attempt up to maxDelayMs; defaults 250 / 10_000 ms */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** client PKI folder; default a fresh temp folder, removed at close */
  pkiDir?: string;
  /** message security (mode/policy) and user token; default None and anonymous */
  security?: OpcuaSecurity;
  /** run after every (re)connect, before the link reports "connected" (e.g. re-read identification) */
  onSession?: (link: OpcuaLink) => Promise<string | undefined>;
}

/** Value changes wanted from the server, re-subscribed on every new session (a subscription dies with its session). */
export interface OpcuaWatch {
  nodeIds: string[];
  /** how often the server sends the changes it has [ms] */
  publishingIntervalMs: number;
  onChange: (index: number, value: DataValue) => void;
  /** the subscription could not be made: values still come from reads, only later */
  onError: (err: Error) => void;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/** Status codes that mean the request was refused for a reason the caller can fix. */
const REJECTED = new Set<number>([StatusCodes.BadInvalidArgument.value, StatusCodes.BadInvalidState.value, StatusCodes.BadOutOfRange.value]);

export class OpcuaLink {
  private client?: OPCUAClient;
  private session?: ClientSession;
  private namespaceIndex = -1;
  private certificateManager?: OPCUACertificateManager;
  private ownPki?: string;
  private readonly listeners: ((s: LinkState) => void)[] = [];
  private state: LinkState = { status: "lost", reason: "not connected" };
  private closed = false;
  private reconnecting = false;
  private readonly stopReconnect = new AbortController();
  private watches: OpcuaWatch[] = [];
  readonly requestTimeoutMs: number;

  constructor(private readonly o: OpcuaLinkOptions) {
    this.requestTimeoutMs = o.requestTimeoutMs ?? 3000;
  }

  on(fn: (s: LinkState) => void): void {
    this.listeners.push(fn);
  }

  private emit(s: LinkState): void {
    if (s.status === this.state.status && s.reason === this.state.reason) return;
    this.state = s;
    for (const fn of this.listeners) fn(s);
  }

  /** `ns=<index>;s=<id>` in the map's namespace, resolved at connect. */
  nodeId(id: string): string {
    return `ns=${this.namespaceIndex};s=${id}`;
  }

  /** First connection: fails with EquipmentError "unreachable" instead of retrying. */
  async connect(signal?: AbortSignal): Promise<void> {
    if (this.closed) throw new EquipmentError("unreachable", `${this.o.equipmentId}: driver is closed`, this.o.equipmentId);
    const reason = await this.open(signal);
    this.emit({ status: "connected", reason });
    this.subscribeAll();
  }

  /**
   * Subscribe to value changes (samplingInterval 0: the server reports each change as it happens, queue of one:
   * only the newest value of a node matters). Kept across reconnects. Failing to subscribe does not fail the link.
   */
  watch(w: OpcuaWatch): void {
    this.watches.push(w);
    if (this.session !== undefined) void this.subscribe(this.session, w);
  }

  private subscribeAll(): void {
    const session = this.session;
    if (session !== undefined) for (const w of this.watches) void this.subscribe(session, w);
  }

  private async subscribe(session: ClientSession, w: OpcuaWatch): Promise<void> {
    try {
      const subscription = await this.within(
        session.createSubscription2({
          requestedPublishingInterval: w.publishingIntervalMs,
          // the server keeps the subscription ~lifetime × interval without a publish request before dropping it
          requestedLifetimeCount: 600,
          requestedMaxKeepAliveCount: 20,
          maxNotificationsPerPublish: 0,
          publishingEnabled: true,
          priority: 10,
        }),
        "create subscription",
      );
      const group = await this.within(
        subscription.monitorItems(
          w.nodeIds.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })),
          { samplingInterval: 0, discardOldest: true, queueSize: 1 },
          TimestampsToReturn.Source,
        ),
        `monitor ${w.nodeIds.length} items`,
      );
      group.on("changed", (_item, value, index) => w.onChange(index, value));
    } catch (err) {
      if (session === this.session) w.onError(err as Error);
    }
  }

  private async open(signal?: AbortSignal): Promise<string | undefined> {
    if (this.certificateManager === undefined) {
      this.ownPki = this.o.pkiDir === undefined ? await mkdtemp(join(tmpdir(), "axviam-opcua-client-pki-")) : undefined;
      this.certificateManager = new OPCUACertificateManager({ rootFolder: this.o.pkiDir ?? this.ownPki, automaticallyAcceptUnknownCertificate: true });
    }
    const client = OPCUAClient.create({
      applicationName: "AXVIAM Station",
      endpointMustExist: false,
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      clientCertificateManager: this.certificateManager,
      keepSessionAlive: true,
      keepAliveInterval: 1000,
      requestedSessionTimeout: 20_000,
      transportTimeout: this.requestTimeoutMs,
      ...(this.o.security ? { securityMode: messageSecurityMode(this.o.security), securityPolicy: securityPolicy(this.o.security) } : {}),
    });
    const abort = () => void client.disconnect().catch(() => undefined);
    signal?.addEventListener("abort", abort, { once: true });
    try {
      // the first connect may generate the client certificate: give it more than one request's time
      const connectTimeoutMs = Math.max(this.requestTimeoutMs, 10_000);
      await this.within(client.connect(this.o.endpointUrl), "connect", connectTimeoutMs);
      const session = await this.within(client.createSession(this.identity()), "create session", connectTimeoutMs).catch((e: Error) => {
        throw this.identityRefused(e) ?? e;
      });
      const namespaces = await this.within(session.readNamespaceArray(), "read namespace array");
      this.namespaceIndex = namespaces.indexOf(this.o.namespaceUri);
      if (this.namespaceIndex < 0) throw new EquipmentError("protocol", `${this.o.equipmentId}: server at ${this.o.endpointUrl} has no namespace ${this.o.namespaceUri}`, this.o.equipmentId);
      if (signal?.aborted) throw new EquipmentError("unreachable", `${this.o.equipmentId}: connect aborted`, this.o.equipmentId);
      this.client = client;
      this.session = session;
      client.on("connection_lost", () => this.dropped(client, "connection lost"));
      client.on("close", () => this.dropped(client, "connection closed"));
      session.on("keepalive_failure", () => this.dropped(client, "keep-alive failed"));
      session.on("session_closed", () => this.dropped(client, "session closed by the server"));
      return await this.o.onSession?.(this);
    } catch (err) {
      this.client = undefined;
      this.session = undefined;
      await client.disconnect().catch(() => undefined);
      throw err instanceof EquipmentError ? err : new EquipmentError("unreachable", `${this.o.equipmentId}: cannot connect to ${this.o.endpointUrl}: ${(err as Error).message}`, this.o.equipmentId);
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }

  private identity(): UserIdentityInfo {
    const user = this.o.security?.user;
    return user ? { type: UserTokenType.UserName, userName: user.username, password: user.password } : { type: UserTokenType.Anonymous };
  }

  /** A session the server refuses for who we are (wrong password, anonymous not allowed) is a configuration problem: say so. */
  private identityRefused(err: Error): EquipmentError | undefined {
    // the server's answer, or node-opcua's own refusal when the endpoint offers no anonymous token at all
    const m = /Bad(UserAccessDenied|IdentityTokenInvalid|IdentityTokenRejected)|no anonymous token|Cannot find ANONYMOUS user token policy/.exec(err.message);
    if (!m) return undefined;
    const user = this.o.security?.user;
    const who = user
      ? `refused user "${user.username}" (${m[0]}): check the username and the password in the environment variable the config names`
      : `refused an anonymous session (${m[0]}): the server requires a user; set security.username and security.passwordEnv`;
    return new EquipmentError("rejected", `${this.o.equipmentId}: OPC UA server at ${this.o.endpointUrl} ${who} [${describeSecurity(this.o.security)}]`, this.o.equipmentId);
  }

  /** The link dropped under us: report it and keep re-trying in the background. */
  private dropped(client: OPCUAClient, reason: string): void {
    if (this.closed || client !== this.client) return;
    this.client = undefined;
    this.session = undefined;
    void client.disconnect().catch(() => undefined);
    this.emit({ status: "lost", reason });
    void this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    const initial = this.o.reconnect?.initialDelayMs ?? 250;
    const cap = this.o.reconnect?.maxDelayMs ?? 10_000;
    try {
      for (let attempt = 0; !this.closed; attempt++) {
        await sleep(Math.min(cap, initial * 2 ** attempt), this.stopReconnect.signal);
        if (this.closed) return;
        try {
          const reason = await this.open(this.stopReconnect.signal);
          if (this.closed) {
            await this.client?.disconnect().catch(() => undefined);
            return;
          }
          this.emit({ status: "connected", reason: reason ?? `reconnected after ${attempt + 1} attempt(s)` });
          this.subscribeAll();
          return;
        } catch (err) {
          this.emit({ status: "lost", reason: (err as Error).message });
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  private within<T>(p: Promise<T>, what: string, timeoutMs = this.requestTimeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EquipmentError("timeout", `${this.o.equipmentId}: ${what} took longer than ${timeoutMs} ms`, this.o.equipmentId)),
        timeoutMs,
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  /** Run one request on the live session, translating failures; a timeout degrades the link, a success restores it. */
  private async request<T>(what: string, fn: (s: ClientSession) => Promise<T>, channel?: number): Promise<T> {
    const session = this.session;
    if (session === undefined) {
      throw new EquipmentError("unreachable", `${this.o.equipmentId}: ${what}: not connected (${this.state.reason ?? this.state.status})`, this.o.equipmentId, channel);
    }
    try {
      const result = await this.within(fn(session), what);
      if (this.state.status === "degraded") this.emit({ status: "connected", reason: "responding again" });
      return result;
    } catch (err) {
      if (err instanceof EquipmentError) {
        if (err.kind === "timeout") this.emit({ status: "degraded", reason: err.message });
        throw new EquipmentError(err.kind, err.message, this.o.equipmentId, channel);
      }
      const client = this.client;
      if (client !== undefined) this.dropped(client, `${what}: ${(err as Error).message}`);
      throw new EquipmentError("unreachable", `${this.o.equipmentId}: ${what}: ${(err as Error).message}`, this.o.equipmentId, channel);
    }
  }

  /** Read Value attributes in one request (maxAge 0: fresh from the device). */
  read(what: string, nodeIds: string[]): Promise<DataValue[]> {
    return this.request(what, (s) => s.read(nodeIds.map((nodeId) => ({ nodeId, attributeId: 13 })), 0));
  }

  /** Call a method; Bad status → EquipmentError ("rejected" with the server's Message for a refused request). */
  async call(what: string, objectId: string, methodId: string, inputArguments: Variant[], channel?: number): Promise<Variant[]> {
    const result = await this.request(what, (s) => s.call({ objectId, methodId, inputArguments }), channel);
    if (result.statusCode.isGood()) return result.outputArguments ?? [];
    const message = result.outputArguments?.[0]?.value;
    const detail = typeof message === "string" && message !== "" ? message : result.statusCode.description;
    const kind = REJECTED.has(result.statusCode.value) ? "rejected" : "protocol";
    throw new EquipmentError(kind, `${this.o.equipmentId}: ${what} refused (${result.statusCode.name}): ${detail}`, this.o.equipmentId, channel);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopReconnect.abort();
    const client = this.client;
    this.client = undefined;
    this.session = undefined;
    if (client !== undefined) await client.disconnect().catch(() => undefined);
    await this.certificateManager?.dispose();
    if (this.ownPki !== undefined) await rm(this.ownPki, { recursive: true, force: true });
  }
}
