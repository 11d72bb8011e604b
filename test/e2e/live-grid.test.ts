/** The HMI in real Chromium: opens the station overview and sees live values pushed over socket.io change. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, signInOnKeypad } from "../support/browser.ts";
import { startTestStation, type TestStation } from "../support/station.ts";

describe("HMI live channel grid", () => {
  let station: TestStation;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  beforeAll(async () => {
    station = await startTestStation({ channels: 8 });
    await station.auth.createUser({ username: "op1", displayName: "Operator One", role: "operator", pin: "111111" });
    await station.auth.changePin("op1", "111111", "246810"); // new users must choose their own PIN first
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.cleanup();
    await station?.close();
  });

  it("shows all 8 channels and a running channel's values change live", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await signInOnKeypad(page, station.url, "op1", "246810");
    await page.waitForSelector('[data-channel="cycler-1/8"]', { timeout: 20_000 });
    expect(await page.locator("[data-channel]").count()).toBe(8);
    await expect.poll(() => page.locator('[data-testid="simulated"]').count()).toBe(1);

    const monitor = station.monitors.get("cycler-1")!;
    await monitor.driver.load(2, {
      id: "e2e-discharge",
      steps: [{ mode: "cc", currentA: -2.5, ends: [{ on: "time", op: ">=", value: 36_000, then: "end" }], log: { everyS: 10 } }],
      safety: monitor.info()!.limits,
    });
    await monitor.driver.command(2, "start");

    const tile = page.locator('[data-channel="cycler-1/2"]');
    await expect.poll(() => tile.getAttribute("data-state"), { timeout: 15_000 }).toBe("running");
    await expect.poll(() => tile.locator('[data-field="current"]').textContent(), { timeout: 15_000 }).toMatch(/^-2\.50\d/);
    const first = await tile.locator('[data-field="voltage"]').textContent();
    // the cell discharges at C/2 on a 60× clock: its voltage falls visibly within seconds
    await expect.poll(() => tile.locator('[data-field="voltage"]').textContent(), { timeout: 15_000 }).not.toBe(first);
    await monitor.driver.command(2, "stop");
  });
});
