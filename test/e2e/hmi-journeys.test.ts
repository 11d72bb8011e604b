/**
 * Browser journeys against the real HTTP edge + API with the fake station and a fake live feed: operator,
 * supervisor and QA each do their job through the HMI; an operator's forged QA/admin calls are refused.
 * The fast, deterministic complement of real-station-journeys.test.ts (which also takes the docs' screenshots):
 * forged calls, theme persistence and a scripted lot progress that a real station cannot replay on demand.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, USERS, type Harness } from "../api/api-harness.ts";
import { launchBrowser, signInOnKeypad } from "../support/browser.ts";

const HMI_DIR = path.resolve("hmi/dist");
let h: Harness;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let feed: NodeJS.Timeout;

beforeAll(async () => {
  if (!existsSync(path.join(HMI_DIR, "index.html"))) {
    const built = spawnSync(process.execPath, ["node_modules/vite/bin/vite.js", "build", "--config", "hmi/vite.config.ts", "--logLevel", "warn"], { encoding: "utf8" });
    if (built.status !== 0) throw new Error(`HMI build failed: ${built.stderr}`);
  }
  h = await startHarness({ hmiDir: HMI_DIR });
  let tick = 0;
  // Fake live feed: every channel's voltage moves each tick, so tiles must update.
  feed = setInterval(() => h.station.feed((ch) => 3.6 + ch / 100 + (++tick % 50) / 10_000), 200);
  browser = await launchBrowser();
});
afterAll(async () => {
  clearInterval(feed);
  await browser?.cleanup();
  await h?.close();
});

async function loginWithKeypad(role: keyof typeof USERS, viewport = { width: 1280, height: 800 }): Promise<Page> {
  const page = await (await browser.newContext({ viewport })).newPage();
  await signInOnKeypad(page, h.url, USERS[role].username, USERS[role].pin);
  await page.waitForSelector('[data-testid="user"]');
  return page;
}

describe("HMI journeys", () => {
  it("operator: keypad login, live tiles, start a lot, acknowledge an alarm", async () => {
    const login = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await login.goto(h.url);
    await login.waitForSelector('button[data-key="1"]');
    await login.context().close();

    const page = await loginWithKeypad("operator");
    const voltage = page.locator('[data-channel="cycler-1/1"] [data-field="voltage"]');
    await expect.poll(() => voltage.textContent(), { timeout: 5000 }).toMatch(/3\.61\d\d V/);
    const first = await voltage.textContent();
    await expect.poll(() => voltage.textContent(), { timeout: 5000 }).not.toBe(first);
    const box = await page.locator('[data-channel="cycler-1/1"]').boundingBox();
    expect(await page.locator("[data-channel]").count()).toBe(8);

    await page.click('nav a[href="#/start"]');
    await page.fill('input[name="lot-name"]', "Tray 17 imprint");
    await page.fill('input[name="tray"]', "TR-0017");
    await page.fill('input[name="serial-1"]', "AXS-000101");
    await page.press('input[name="serial-1"]', "Enter");
    await page.keyboard.type("AXS-000102");
    await page.click("text=Review…");
    const mapping = page.locator('[data-testid="confirm-mapping"]');
    await expect.poll(() => mapping.textContent()).toContain("cycler-1/2");
    await page.click("text=Confirm and start");
    await page.waitForURL(/#\/lots\/lot-1$/);
    expect(h.station.lotsById.get("lot-1")!.runs.map((r) => `${r.serial}@${r.channel}`)).toEqual(["AXS-000101@1", "AXS-000102@2"]);
    expect(h.station.lotsById.get("lot-1")!.lot.operator).toBe("olga");

    await page.click('nav a[href="#/"]');
    const tile = page.locator('[data-channel="cycler-1/2"]');
    await expect.poll(() => tile.getAttribute("data-state"), { timeout: 5000 }).toBe("running");
    expect(await tile.locator('[data-field="serial"]').textContent()).toBe("AXS-000102");
    expect(await page.locator('[data-channel="cycler-1/1"]').boundingBox()).toEqual(box); // no layout shift

    const alarm = h.station.alarmManager.raise({ source: "cycler-1/2", condition: "over-temperature", severity: "high", message: "cell at 58.2 °C" });
    await expect.poll(() => tile.locator('[data-testid="alarm-marker"]').textContent(), { timeout: 5000 }).toContain("HIGH");
    await page.click('nav a[href="#/alarms"]');
    const row = page.locator(`tr[data-alarm="${alarm.id}"]`);
    await expect.poll(() => row.locator('[data-testid="alarm-state"]').textContent()).toContain("ACTIVE · UNACK");
    await row.locator("text=Acknowledge").click();
    await expect.poll(() => row.locator('[data-testid="alarm-state"]').textContent(), { timeout: 5000 }).toContain("ACTIVE · ACK");
    expect(h.station.alarmManager.history().find((a) => a.id === alarm.id)).toMatchObject({ state: "active-ack", acknowledgedBy: "olga" });
    expect(await page.locator("text=Shelve…").count()).toBe(0); // operators may not shelve

    await page.goto(`${h.url}/#/channel/${encodeURIComponent("cycler-1/2")}`);
    await page.waitForSelector('[data-testid="line-chart"] canvas');
    await expect.poll(() => page.locator(".program li").count(), { timeout: 5000 }).toBeGreaterThan(0);

    // Forged calls from the operator's own browser session: the server refuses them.
    const statuses = await page.evaluate(async () => {
      const send = (method: string, url: string, body?: unknown) =>
        fetch(url, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) }).then((r) => r.status);
      return [
        await send("POST", "/api/users", { username: "mallory", displayName: "M", role: "admin", pin: "1234" }),
        await send("GET", "/api/audit"),
        await send("POST", "/api/recipes/factory_init/versions", { yaml: "name: factory_init\nversion: 9.0.0\n" }),
        await send("POST", "/api/alarms/x/shelve", { reason: "quiet", untilIso: "2099-01-01T00:00:00Z" }),
      ];
    });
    expect(statuses).toEqual([403, 403, 403, 403]);
    expect(h.auth.users().some((u) => u.username === "mallory")).toBe(false);
    await page.context().close();
  });

  it("supervisor: watches lot progress update live", async () => {
    const page = await loginWithKeypad("supervisor");
    await page.goto(`${h.url}/#/lots/lot-1`);
    const formation = page.locator('[data-phase="formation"]');
    await expect.poll(() => formation.textContent(), { timeout: 5000 }).toContain("0 %");
    h.station.advance("lot-1", 2, 0.45);
    await expect.poll(() => formation.textContent(), { timeout: 5000 }).toContain("100 %");
    await expect.poll(() => page.locator('[data-phase="ica"]').textContent()).toContain("▶");
    await page.click('nav a[href="#/lots"]');
    await expect.poll(() => page.locator('tr[data-lot="lot-1"]').textContent(), { timeout: 5000 }).toContain("45 %");
    await page.context().close();
  });

  it("QA: finds a cell by serial and opens its grade", async () => {
    const synthetic = (serial: string, capacityAh: number, dcirMilliohm: number, kValue: number) => ({
      kind: "imprint",
      serial,
      capacityAh: { value: capacityAh, uncertainty: 0.004 },
      dcirMilliohm: { value: dcirMilliohm, uncertainty: 0.2 },
      kValueMvPerDay: { value: kValue, uncertainty: 0.01 },
      holdCurrentMicroA: { value: 21, uncertainty: 2 },
      // Synthetic curves for the test only: two Gaussian dQ/dV peaks and a smooth dU/dT profile.
      ica: { voltageV: Array.from({ length: 120 }, (_, i) => 3.4 + i * 0.0067), dqdvAhPerV: Array.from({ length: 120 }, (_, i) => 8 * Math.exp(-(((i - 35) / 8) ** 2)) + 12 * Math.exp(-(((i - 80) / 10) ** 2))) },
      entropyProfile: [0.2, 0.5, 0.8].map((soc, i) => ({ label: `soc${soc * 100}`, soc, dudtMvPerK: [-0.12, 0.05, -0.02][i], dudtUncertaintyMvPerK: 0.01 })),
      icaPeaks: [],
    });
    h.station.complete(
      "lot-1",
      { "AXS-000101": synthetic("AXS-000101", 5.012, 22.4, 0.41), "AXS-000102": synthetic("AXS-000102", 4.968, 23.1, 0.52) },
      { perCell: [{ serial: "AXS-000101", bin: "A", reasons: [], zScores: {} }, { serial: "AXS-000102", bin: "B", reasons: [], zScores: {} }] },
    );
    const page = await loginWithKeypad("qa");
    await page.click('nav a[href="#/cells"]');
    await page.fill('input[name="serial-search"]', "AXS-000102");
    await page.click("text=Find");
    const grade = page.locator('[data-testid="cell-grade"]');
    await expect.poll(() => grade.textContent(), { timeout: 5000 }).toContain("4.968");
    expect(await grade.textContent()).toContain("23.10");
    expect(await page.locator('[data-testid="line-chart"]').count()).toBe(2);
    await page.goto(`${h.url}/#/lots/lot-1`);
    await expect.poll(() => page.locator('[data-testid="distribution"]').textContent(), { timeout: 5000 }).toContain("bin A");
    await page.click('nav a[href="#/audit"]');
    await expect.poll(() => page.locator("tbody tr").count(), { timeout: 5000 }).toBeGreaterThan(5);
    await page.click("text=Verify chain");
    await expect.poll(() => page.locator('[data-testid="audit-verify"]').textContent()).toMatch(/Chain intact/);
    expect(await page.locator('nav a[href="#/users"]').count()).toBe(0);
    await page.context().close();
  });

  it("admin screens and a wall-screen overview in the dark theme", async () => {
    const page = await loginWithKeypad("admin", { width: 1920, height: 1080 });
    await page.click('nav a[href="#/config"]');
    await page.waitForFunction(() => (document.querySelector('textarea[name="yaml"]') as HTMLTextAreaElement | null)?.value.includes("factory_init"));
    await page.click("text=Validate");
    await expect.poll(() => page.locator('[data-testid="validation"]').textContent()).toContain("Valid.");
    await page.click('nav a[href="#/users"]');
    await page.waitForSelector('tr[data-user="olga"]');
    await page.click('button[aria-label="switch theme"]');
    await page.click('nav a[href="#/"]');
    await page.waitForSelector('[data-channel="cycler-1/8"]');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
    await page.reload();
    await page.waitForSelector('[data-channel="cycler-1/8"]');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark"); // persisted
    await page.context().close();
  });
});
