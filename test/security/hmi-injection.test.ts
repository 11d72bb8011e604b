/**
 * Script injection through what users type and the HMI shows: a lot name, tray code, abort reason and a user's
 * display name carrying HTML/script payloads go through the real station's API, then the built HMI is opened in
 * Chromium on every screen that shows them. No payload may run (each would set window.__xss), and each must be
 * shown as the literal text that was typed. Serials cannot carry markup at all (refused at the API).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "../support/browser.ts";
import { waitFor } from "../support/station.ts";
import { startSecurityStation, type SecurityStation } from "./security-station.ts";

const HMI_DIR = path.resolve("hmi/dist");
const PAYLOADS = {
  lotName: `<img src=x onerror="window.__xss='lot name'">`,
  tray: `<script>window.__xss='tray'</script>`,
  reason: `"><svg onload="window.__xss='reason'"></svg>`,
  displayName: `<iframe srcdoc="<script>parent.__xss='user'</script>">`,
};

let s: SecurityStation;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let lotId: string;
let evilCookie: string;
let adminCookie: string;

beforeAll(async () => {
  if (!existsSync(path.join(HMI_DIR, "index.html"))) {
    const built = spawnSync(process.execPath, ["node_modules/vite/bin/vite.js", "build", "--config", "hmi/vite.config.ts", "--logLevel", "warn"], { encoding: "utf8" });
    if (built.status !== 0) throw new Error(`HMI build failed: ${built.stderr}`);
  }
  s = await startSecurityStation({ chamber: true });
  adminCookie = await s.loginAs("admin");
  const created = await s.raw("POST", "/api/users", { cookie: adminCookie, body: { username: "mallory", displayName: PAYLOADS.displayName, role: "supervisor", pin: "8080" } });
  expect(created.status).toBe(201);
  await s.station.auth.changePin("mallory", "8080", "8081");
  evilCookie = await s.login("mallory", "8081");

  await waitFor("cycler connected", () => s.station.monitors.get("cycler-1")!.info(), 30_000);
  const lot = await s.raw("POST", "/api/lots", {
    cookie: evilCookie,
    body: { name: PAYLOADS.lotName, tray: PAYLOADS.tray, recipe: "factory_init", cyclerId: "cycler-1", nominalCapacityAh: 5, chemistry: "nmc811-graphite", cells: [{ slot: 1, serial: "TST-XSS-1" }] },
  });
  expect(lot.status, lot.text).toBe(201);
  lotId = lot.json.id;
  expect((await s.raw("POST", `/api/lots/${lotId}/abort`, { cookie: evilCookie, body: { reason: PAYLOADS.reason } })).status).toBe(200);
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.cleanup();
  await s?.close();
});

async function open(cookie: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addCookies([{ name: "axviam_session", value: cookie.split("=")[1], url: s.station.url }]);
  return { context, page: await context.newPage() };
}

/** Visit a screen, wait until it shows `text` literally, and prove nothing ran and no markup was created. */
async function expectInert(page: Page, hash: string, texts: string[]): Promise<void> {
  await page.goto(`${s.station.url}/${hash}`);
  for (const text of texts) await page.getByText(text, { exact: false }).first().waitFor({ timeout: 10_000 });
  await page.waitForTimeout(300); // an onerror/onload would have fired by now
  expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss), hash).toBeUndefined();
  expect(await page.locator('img[src="x"], svg[onload], iframe[srcdoc], main script').count(), hash).toBe(0);
}

describe("HMI shows hostile text literally and runs none of it", () => {
  it("lots list, lot view, audit and the signed-in user's name", async () => {
    const { context, page } = await open(evilCookie);
    await expectInert(page, "#/lots", [PAYLOADS.lotName, PAYLOADS.reason, PAYLOADS.displayName]);
    await expectInert(page, `#/lots/${encodeURIComponent(lotId)}`, [PAYLOADS.lotName, `tray ${PAYLOADS.tray}`, PAYLOADS.reason]);
    await expectInert(page, "#/audit", ["lot.start"]);
    expect(await page.locator("td.details").allTextContents()).toContainEqual(expect.stringContaining(JSON.stringify(PAYLOADS.reason).slice(1, -1)));
    await context.close();
  });

  it("user administration shows the display name as text", async () => {
    const { context, page } = await open(adminCookie);
    await expectInert(page, "#/users", [PAYLOADS.displayName]);
    await context.close();
  });

  it("the page is served with a policy that forbids inline scripts (defence in depth)", async () => {
    const res = await s.raw("GET", "/");
    expect(res.headers["content-security-policy"]).toMatch(/script-src 'self'/);
    expect(res.headers["x-frame-options"]).toBe("DENY");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
  });
});
