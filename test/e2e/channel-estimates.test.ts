/**
 * Tiles show SOC and ETA with their units, and the channel chart opens with the run's history, in real Chromium
 * against a real station (embedded simulators on a fast clock: every figure is SIMULATED).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signInOnKeypad } from "../support/browser.ts";
import { startTestStation, waitFor, type TestStation } from "../support/station.ts";

describe("HMI channel estimates and chart history", () => {
  let station: TestStation;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  beforeAll(async () => {
    if (!existsSync(path.resolve("hmi/dist/index.html"))) {
      const built = spawnSync(process.execPath, ["node_modules/vite/bin/vite.js", "build", "--config", "hmi/vite.config.ts", "--logLevel", "warn"], { encoding: "utf8" });
      if (built.status !== 0) throw new Error(`HMI build failed: ${built.stderr}`);
    }
    station = await startTestStation({ channels: 2, overrides: { simSpeed: 1800, tickMs: 50 } });
    await station.auth.createUser({ username: "op1", displayName: "Operator One", role: "operator", pin: "111111" });
    await station.auth.changePin("op1", "111111", "246810");
    await waitFor("cycler connected", () => station.monitors.get("cycler-1")!.info());
    await station.service.startLot({ name: "estimates", recipe: "quick_check", cyclerId: "cycler-1", cells: [{ slot: 1, serial: "EST-1" }], nominalCapacityAh: 5, chemistry: "nmc811-graphite", operator: "op1" });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.cleanup();
    await station?.close();
  });

  it("a running tile shows step n/N with its mode, ≈ SOC in % and ≈ ETA in h:mm without moving; the chart opens with history", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await signInOnKeypad(page, station.url, "op1", "246810");
    const tile = page.locator('[data-channel="cycler-1/1"]');
    await tile.waitFor({ timeout: 20_000 });
    const box = await tile.boundingBox();
    await expect.poll(() => tile.locator('[data-field="eta"]').textContent(), { timeout: 20_000 }).toMatch(/^≈ \d+:\d\d h:mm$/);
    await expect.poll(() => tile.locator('[data-field="step"]').textContent(), { timeout: 20_000 }).toMatch(/^\d+\/\d+ (REST|CC|CCCV|CV|CP|PULSE|OCV) cyc \d+$/);
    // SOC appears once the first CCCV charge has ended on its taper (then the cell is full by definition)
    await expect.poll(() => tile.locator('[data-field="soc"]').textContent(), { timeout: 30_000 }).toMatch(/^≈ -?\d+ %$/);
    expect(await tile.boundingBox()).toEqual(box); // no layout shift as estimates appear

    await page.goto(`${station.url}/#/channel/${encodeURIComponent("cycler-1/1")}`);
    await page.waitForSelector('[data-testid="line-chart"] canvas');
    await expect.poll(async () => Number(await page.locator("[data-history-points]").getAttribute("data-history-points")), { timeout: 10_000 }).toBeGreaterThan(10);
  }, 90_000);
});
