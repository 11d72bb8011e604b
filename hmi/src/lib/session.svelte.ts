/** Who is signed in and what they may do (shared state, Svelte 5 runes). The server enforces; this only hides. */
import type { Permission, Role } from "../../../server/auth/permissions.ts";
import { ApiError, get, post, setUnauthenticatedHandler } from "./api.ts";
import { live } from "./live.svelte.ts";

export interface SessionUser {
  username: string;
  displayName: string;
  role: Role;
  mustChangePin: boolean;
}

interface SessionAnswer {
  user: SessionUser;
  permissions: Permission[];
}

class Session {
  user = $state<SessionUser | undefined>();
  permissions = $state<Permission[]>([]);
  /** false until the first session check answered */
  checked = $state(false);
  /**
   * The server mounts no auth API (a bare HTTP edge, e.g. an equipment-only test station): nothing can be
   * changed through it, so the HMI shows the live overview only.
   */
  viewOnly = $state(false);

  can(p: Permission): boolean {
    return this.permissions.includes(p);
  }

  #apply(a: SessionAnswer | undefined): void {
    this.user = a?.user;
    this.permissions = a?.permissions ?? [];
    if (a && !a.user.mustChangePin) live.connect();
    else live.disconnect();
  }

  async restore(): Promise<void> {
    setUnauthenticatedHandler(() => this.#apply(undefined));
    live.onSessionEnded(() => this.#apply(undefined));
    try {
      this.#apply(await get<SessionAnswer>("/auth/session"));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        this.viewOnly = true;
        live.connect();
      } else if (e instanceof ApiError && e.status === 401) this.#apply(undefined);
      else throw e;
    } finally {
      this.checked = true;
    }
  }

  async login(user: string, pin: string): Promise<void> {
    this.#apply(await post<SessionAnswer>("/auth/login", { user, pin }));
  }

  async changePin(currentPin: string, newPin: string): Promise<void> {
    this.#apply(await post<SessionAnswer>("/auth/change-pin", { currentPin, newPin }));
  }

  async logout(): Promise<void> {
    await post("/auth/logout").catch(() => undefined);
    this.#apply(undefined);
  }
}

export const session = new Session();
