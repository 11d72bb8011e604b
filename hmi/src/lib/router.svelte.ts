/** A tiny hash router: "#/lots/lot-3" → { name: "lots", params: ["lot-3"] }. Kiosk-friendly: no server routes. */
class Router {
  path = $state(location.hash.slice(1) || "/");

  constructor() {
    window.addEventListener("hashchange", () => (this.path = location.hash.slice(1) || "/"));
  }

  get name(): string {
    return this.path.split("/")[1] ?? "";
  }

  /** decoded path segments after the screen name */
  get params(): string[] {
    return this.path.split("/").slice(2).map(decodeURIComponent);
  }

  go(...segments: string[]): void {
    location.hash = `/${segments.map(encodeURIComponent).join("/")}`;
  }
}

export const router = new Router();
