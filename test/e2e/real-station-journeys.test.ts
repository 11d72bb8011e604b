/**
 * Each role's main journey in real Chromium against a REAL station: embedded simulators over OPC UA, the lot runner,
 * the domain analyses, certificates, auth and audit (test/support/station.ts). The simulators' clock is manual and
 * the test pumps it, so the same journey runs slowly while a person would watch and fast where they would wait.
 * Screenshots of the main screens go to docs/screenshots/ when AXVIAM_SCREENSHOTS=docs (every figure on them is from
 * SIMULATED equipment).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../server/auth/permissions.ts";
import type { LotGrade } from "../../server/domain/grading/lot-grading.ts";
import type { CellResult } from "../../server/station/lot-analysis.ts";
import { launchBrowser, signInOnKeypad } from "../support/browser.ts";
import { startTestStation, waitFor, type TestStation } from "../support/station.ts";

const HMI_DIR = path.resolve("hmi/dist");
// Screenshots for docs/ are refreshed on request (AXVIAM_SCREENSHOTS=docs npm test), else kept in a temp folder so a
// test run never rewrites tracked files.
const SHOTS = process.env.AXVIAM_SCREENSHOTS === "docs" ? path.resolve("docs/screenshots") : path.join(os.tmpdir(), "axviam-screenshots");
const USERS: Record<Role, { username: string; displayName: string; pin: string }> = {
  operator: { username: "olga", displayName: "Olga Operator", pin: "1357" },
  supervisor: { username: "sam", displayName: "Sam Supervisor", pin: "2468" },
  qa: { username: "quinn", displayName: "Quinn QA", pin: "3579" },
  admin: { username: "ada", displayName: "Ada Admin", pin: "4680" },
};
const SERIALS = ["AXQ-000101", "AXQ-000102", "AXQ-000103", "AXQ-000104", "AXQ-000105", "AXQ-000106"];
/** the channel whose hardware the test breaks (slot 3 of the tray sits on it) */
const FAULT_CHANNEL = 3;

let station: TestStation;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const contexts: BrowserContext[] = [];
let pump: NodeJS.Timeout;
/** simulated seconds the clock advances every 50 ms of wall time (0 = frozen) */
let simSPerTick = 0;
let lotId = "";

beforeAll(async () => {
  if (!existsSync(path.join(HMI_DIR, "index.html"))) {
    const built = spawnSync(process.execPath, ["node_modules/vite/bin/vite.js", "build", "--config", "hmi/vite.config.ts", "--logLevel", "warn"], { encoding: "utf8" });
    if (built.status !== 0) throw new Error(`HMI build failed: ${built.stderr}`);
  }
  mkdirSync(SHOTS, { recursive: true });
  station = await startTestStation({ channels: 8, overrides: { simSpeed: "manual", tickMs: 50 } });
  for (const [role, u] of Object.entries(USERS) as [Role, (typeof USERS)[Role]][]) {
    await station.auth.createUser({ username: u.username, displayName: u.displayName, role, pin: "000000" });
    await station.auth.changePin(u.username, "000000", u.pin); // new users choose their own PIN first
  }
  const clock = station.sims!.env.clock;
  pump = setInterval(() => simSPerTick > 0 && clock.advanceBy(simSPerTick), 50);
  browser = await launchBrowser();
});
afterAll(async () => {
  clearInterval(pump);
  for (const c of contexts) await c.close();
  await browser?.cleanup();
  await station?.close();
});

async function loginWithKeypad(role: Role, viewport = { width: 1280, height: 800 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  await signInOnKeypad(page, station.url, USERS[role].username, USERS[role].pin);
  await page.waitForSelector('[data-testid="user"]');
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });

/** a request from the page's own session (its cookie), as a forged call from that browser would be */
const send = (page: Page, method: string, url: string, body?: unknown) =>
  page.evaluate(
    async ([m, u, b]) => (await fetch(u as string, { method: m as string, headers: { "content-type": "application/json" }, body: b === undefined ? undefined : JSON.stringify(b) })).status,
    [method, url, body] as const,
  );

describe("real station journeys", () => {
  let operator: Page;

  it("operator: keypad login, starts a lot on the Start Lot screen, sees channels run, acknowledges a fault alarm", async () => {
    const login = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await login.goto(station.url);
    await login.waitForSelector('button[data-key="1"]');
    await shot(login, "login");
    await login.context().close();

    operator = await loginWithKeypad("operator");
    await operator.waitForSelector('[data-channel="cycler-1/8"]', { timeout: 20_000 });
    await expect.poll(() => operator.locator('[data-testid="simulated"]').count()).toBe(1);
    const tileBox = await operator.locator('[data-channel="cycler-1/1"]').boundingBox();

    await operator.click('nav a[href="#/start"]');
    await operator.fill('input[name="lot-name"]', "Quick check tray 7");
    await operator.fill('input[name="tray"]', "TR-0007");
    await operator.selectOption('select[name="recipe"]', "quick_check");
    // A barcode scanner types the code and Enter, which moves to the next slot.
    await operator.click('input[name="serial-1"]');
    for (const serial of SERIALS) await operator.keyboard.type(`${serial}\n`);
    await shot(operator, "start-lot");
    await operator.click("text=Review…");
    const mapping = operator.locator('[data-testid="confirm-mapping"]');
    await expect.poll(() => mapping.textContent()).toContain(`${SERIALS[5]}cycler-1/6`);
    await operator.click("text=Confirm and start");
    await operator.waitForURL(/#\/lots\/\d{8}-[0-9a-f]{8}$/);
    lotId = decodeURIComponent(operator.url().split("/").at(-1)!);
    const started = await station.service.lot(lotId);
    expect(started.lot).toMatchObject({ operator: "olga", tray: "TR-0007", recipe: { name: "quick_check" }, simulated: true });
    expect(started.runs.map((r) => `${r.serial}@${r.channel}`)).toEqual(SERIALS.map((s, i) => `${s}@${i + 1}`));

    simSPerTick = 10; // 200× real time: a person can watch values move
    await operator.click('nav a[href="#/"]');
    for (let ch = 1; ch <= SERIALS.length; ch++) {
      await expect.poll(() => operator.locator(`[data-channel="cycler-1/${ch}"]`).getAttribute("data-state"), { timeout: 20_000 }).toBe("running");
    }
    const tile2 = operator.locator('[data-channel="cycler-1/2"]');
    expect(await tile2.locator('[data-field="serial"]').textContent()).toBe(SERIALS[1]);
    // C/2 charge of a 5 Ah cell: +2.5 A (within the simulated reading noise), and the voltage rises within seconds at 200×
    const current = async () => /^(-?\d+\.\d{3}) A$/.exec((await tile2.locator('[data-field="current"]').textContent()) ?? "")?.[1];
    await expect.poll(async () => Math.abs(Number(await current()) - 2.5)).toBeLessThan(0.005);
    const firstVoltage = await tile2.locator('[data-field="voltage"]').textContent();
    await expect.poll(() => tile2.locator('[data-field="voltage"]').textContent(), { timeout: 10_000 }).not.toBe(firstVoltage);
    expect(await operator.locator('[data-channel="cycler-1/1"]').boundingBox()).toEqual(tileBox); // no layout shift

    // Simulator fault injection: the channel's hardware fails, its program ends in fault, the station aborts the run.
    station.sims!.env.cyclers.get("sim-cycler")!.faults.hardware(FAULT_CHANNEL, true);
    const alarm = await waitFor("the fault alarm", () => station.service.alarms.active().find((a) => a.source === `cycler-1/${FAULT_CHANNEL}`), 15_000);
    expect(alarm).toMatchObject({ severity: "high", state: "active-unack" });
    expect(alarm.message).toContain(SERIALS[FAULT_CHANNEL - 1]);
    const faultTile = operator.locator(`[data-channel="cycler-1/${FAULT_CHANNEL}"]`);
    await expect.poll(() => faultTile.getAttribute("data-state"), { timeout: 10_000 }).toBe("fault");
    await expect.poll(() => faultTile.locator('[data-testid="alarm-marker"]').textContent(), { timeout: 10_000 }).toContain("HIGH");
    expect(await operator.locator('[data-channel="cycler-1/1"]').boundingBox()).toEqual(tileBox);
    await shot(operator, "overview");

    await operator.click('nav a[href="#/alarms"]');
    const row = operator.locator(`tr[data-alarm="${alarm.id}"]`);
    await expect.poll(() => row.locator('[data-testid="alarm-state"]').textContent()).toContain("ACTIVE · UNACK");
    await shot(operator, "alarms");
    await row.locator("text=Acknowledge").click();
    await expect.poll(() => row.locator('[data-testid="alarm-state"]').textContent(), { timeout: 5000 }).toContain("ACTIVE · ACK");
    expect(station.service.alarms.history().find((a) => a.id === alarm.id)).toMatchObject({ state: "active-ack", acknowledgedBy: "olga" });
    expect(await operator.locator("text=Shelve…").count()).toBe(0); // operators may not shelve
    expect((await station.service.lot(lotId)).runs[FAULT_CHANNEL - 1]).toMatchObject({ state: "aborted", reason: expect.stringContaining("hardware") });
    station.sims!.env.cyclers.get("sim-cycler")!.faults.hardware(FAULT_CHANNEL, false);

    await operator.goto(`${station.url}/#/channel/${encodeURIComponent("cycler-1/2")}`);
    await operator.waitForSelector('[data-testid="line-chart"] canvas');
    await expect.poll(() => operator.locator(".program li").count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await operator.locator(".program li.current").count()).toBe(1);
    await expect.poll(() => operator.locator('[data-field="phase"]').textContent()).toMatch(/^\d\/8 /);
    await operator.waitForTimeout(4000); // a few seconds of live history in the chart
    await shot(operator, "channel-detail");
  });

  it("supervisor: watches the lot progress live, through its phases to complete, without a reload", async () => {
    const wall = await loginWithKeypad("supervisor", { width: 1920, height: 1080 });
    await wall.click('button[aria-label="switch theme"]');
    await wall.waitForSelector('[data-channel="cycler-1/8"]');
    await expect.poll(() => wall.locator('[data-channel="cycler-1/1"]').getAttribute("data-state")).toBe("running");
    await shot(wall, "overview-wall-dark");

    const page = await loginWithKeypad("supervisor");
    await page.click('nav a[href="#/lots"]');
    await expect.poll(() => page.locator(`tr[data-lot="${lotId}"]`).textContent()).toContain("EXECUTE");
    await shot(page, "lots");
    await page.goto(`${station.url}/#/lots/${lotId}`);
    const phase = page.locator('[data-testid="lot-phase"]');
    await expect.poll(() => phase.textContent()).toMatch(/^phase \d of 8: /);
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const seen = new Set<string>([(await phase.textContent())!]);

    simSPerTick = 300; // 6000× real time: the remaining ~11 h of equipment time in seconds
    await expect.poll(async () => (seen.add((await phase.textContent())!), seen.size), { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(3);
    await expect.poll(() => page.locator('[data-phase="capacity"]').textContent(), { timeout: 30_000 }).toContain("100 %");
    await expect.poll(() => page.locator('[data-testid="lot-state"]').textContent(), { timeout: 60_000 }).toBe("COMPLETE");
    simSPerTick = 0;
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect([...seen].every((s) => /^phase \d of 8: [a-z0-9-]+$/.test(s))).toBe(true);

    // Bins from the station's own lot grade, shown once the analyses have finished.
    const detail = await station.service.lot(lotId);
    const grade = detail.lotResult as { kind: string } & LotGrade;
    expect(grade.kind).toBe("imprint");
    expect(grade.perCell).toHaveLength(SERIALS.length - 1); // the faulted cell has no grade
    const bins = grade.perCell.reduce<Record<string, number>>((acc, c) => ((acc[`bin ${c.bin}`] = (acc[`bin ${c.bin}`] ?? 0) + 1), acc), {});
    const distribution = page.locator('[data-testid="distribution"]');
    const shown = async () => (await distribution.textContent())!.replace(/\s+/g, " ");
    for (const [bin, n] of Object.entries(bins)) await expect.poll(shown, { timeout: 10_000 }).toContain(`${bin} ${n} (`);
    await expect.poll(() => page.locator('[data-testid="histogram"] rect').count()).toBeGreaterThan(0);
    expect(await page.locator(`tr[data-serial="${SERIALS[0]}"] [data-field="outcome"]`).textContent()).toBe(grade.perCell.find((c) => c.serial === SERIALS[0])!.bin);
    await shot(page, "lot-view");

    await page.click('nav a[href="#/audit"]');
    await expect.poll(() => page.locator("tbody tr").count(), { timeout: 5000 }).toBeGreaterThan(5);
    await page.click("text=Verify chain");
    await expect.poll(() => page.locator('[data-testid="audit-verify"]').textContent()).toMatch(/Chain intact/);
    await shot(page, "audit");
  });

  it("QA: finds a cell by serial, opens its grade with units and downloads its certificate", async () => {
    const serial = SERIALS[1];
    const certs = await waitFor("5 certificates", async () => {
      const list = await station.certificates.list(lotId);
      return list.length === SERIALS.length - 1 ? list : undefined;
    }, 30_000);
    const cert = certs.find((c) => c.serial === serial)!;
    const stored = (await station.service.lot(lotId)).results[serial] as CellResult & { kind: "imprint" };
    const bin = ((await station.service.lot(lotId)).lotResult as LotGrade).perCell.find((c) => c.serial === serial)!.bin;

    const page = await loginWithKeypad("qa");
    await page.click('nav a[href="#/cells"]');
    await page.fill('input[name="serial-search"]', serial);
    await page.click("text=Find");
    const grade = page.locator('[data-testid="cell-grade"]');
    const figure = (key: string) => grade.locator(`tr[data-figure="${key}"] td.num`).textContent();
    // the figures the station stored, with their units and standard uncertainties
    const shownU = (u: number, decimals: number) => (u >= 10 ** -decimals ? u.toFixed(decimals) : u.toPrecision(2));
    await expect.poll(() => figure("capacityAh"), { timeout: 10_000 }).toBe(`${stored.capacityAh!.value.toFixed(3)} ± ${shownU(stored.capacityAh!.uncertainty, 3)} Ah`);
    expect(await figure("dcirMilliohm")).toBe(`${stored.dcirMilliohm!.value.toFixed(2)} ± ${shownU(stored.dcirMilliohm!.uncertainty, 2)} mΩ`);
    expect(await figure("ocvV")).toMatch(/^3\.\d{4} ± [\d.e-]+ V$/);
    expect(await figure("kValueMvPerDay")).toMatch(/^-?\d+\.\d{3} ± [\d.]+ mV\/day$/);
    await expect.poll(() => page.locator('[data-testid="cell-outcome"]').textContent()).toBe(bin);
    expect(await grade.textContent()).toContain("SIMULATED");
    expect(await page.locator('[data-testid="line-chart"]').count()).toBe(2); // dQ/dV and dU/dT

    const link = page.locator('[data-testid="certificate-link"]');
    await expect.poll(() => link.getAttribute("href")).toBe(`/api/certificates/${cert.id}/pdf`);
    const pdf = await page.request.get(`${station.url}${await link.getAttribute("href")}`);
    expect(pdf.status()).toBe(200);
    expect(pdf.headers()["content-type"]).toBe("application/pdf");
    expect((await pdf.body()).subarray(0, 5).toString("latin1")).toBe("%PDF-");
    await page.waitForTimeout(300);
    await shot(page, "cell-view");

    // The downloaded PDF verifies as authentic against the station's public endpoint.
    const verdict = await page.request.post(`${station.url}/api/certificates/verify`, { data: await pdf.body(), headers: { "content-type": "application/pdf" } });
    expect(await verdict.json()).toMatchObject({ authentic: true, unmodified: true, serial, simulated: true });
  });

  it("a role that must not do a thing is refused by the server, not only hidden", async () => {
    const qa = await loginWithKeypad("qa");
    expect(await qa.locator('nav a[href="#/start"]').count()).toBe(0);
    const lotsBefore = (await station.service.listLots()).length;
    const body = { name: "forged", recipe: "quick_check", cyclerId: "cycler-1", cells: [{ slot: 8, serial: "AXQ-FORGED" }], nominalCapacityAh: 5, chemistry: "nmc811-graphite" };
    expect(await send(qa, "POST", "/api/lots", body)).toBe(403);
    const alarmId = station.service.alarms.history().find((a) => a.source === `cycler-1/${FAULT_CHANNEL}`)!.id;
    expect(await send(qa, "POST", `/api/alarms/${alarmId}/acknowledge`)).toBe(403);
    expect((await station.service.listLots()).length).toBe(lotsBefore);

    const cert = (await station.certificates.list(lotId))[0];
    expect(await send(operator, "POST", `/api/certificates/${cert.id}/reprint`)).toBe(403);
    expect(await send(operator, "GET", `/api/lots/${lotId}/export`)).toBe(403);
    expect(await send(operator, "GET", "/api/audit")).toBe(403);
    expect(await send(qa, "POST", `/api/certificates/${cert.id}/reprint`)).toBe(200); // the same call by the right role
  });

  it("admin: recipe editor and users", async () => {
    const page = await loginWithKeypad("admin");
    await page.click('nav a[href="#/config"]');
    await page.waitForFunction(() => (document.querySelector('textarea[name="yaml"]') as HTMLTextAreaElement | null)?.value.includes("name: "));
    await page.click("text=Validate");
    await expect.poll(() => page.locator('[data-testid="validation"]').textContent()).toContain("Valid.");
    await shot(page, "recipe-editor");
    await page.click('nav a[href="#/users"]');
    await page.waitForSelector('tr[data-user="olga"]');
    await shot(page, "users");
  });
});
