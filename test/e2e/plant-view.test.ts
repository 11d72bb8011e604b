/**
 * The HMI's plant scope in real Chromium, against real Mosquitto and PostgreSQL (test/plant/services.ts) and the
 * real plant service. Three stations publish into one plant: the station serving the HMI is a REAL station with
 * embedded simulators (test/support/station.ts, plant enabled), the other two are the plant fixture's stations
 * (real publishers over fake StationServices) that finish lots with known bins and routes. The HMI asks its own
 * station (/api/plant/*), which checks the role and forwards to the plant service with a token from a secret file.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../server/auth/permissions.ts";
import { count, gradeLot, startTestPlant, startTestStation as startPlantStation, waitUntil, type CellOutcome, type TestPlant, type TestStation as PlantStation } from "../plant/plant-fixture.ts";
import { startBroker, startDatabase, type Broker, type Database } from "../plant/services.ts";
import { launchBrowser, signInOnKeypad } from "../support/browser.ts";
import { startTestStation, type TestStation } from "../support/station.ts";

const HMI_DIR = path.resolve("hmi/dist");
const TOKEN = "plant-token-9f2c41d7e0b5";
const USERS: Partial<Record<Role, { username: string; pin: string }>> = {
  operator: { username: "olga", pin: "1357" },
  supervisor: { username: "sam", pin: "2468" },
  qa: { username: "quinn", pin: "3579" },
};

let broker: Broker;
let db: Database;
let plant: TestPlant;
let fixtures: PlantStation[] = [];
let station: TestStation;
let secretDir: string;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

const cells = (prefix: string, outcomes: Partial<CellOutcome>[]): CellOutcome[] =>
  outcomes.map((o, i) => ({ serial: `${prefix}-${String(i + 1).padStart(3, "0")}`, capacityAh: 5 - i / 100, ...o }) as CellOutcome);

beforeAll(async () => {
  if (!existsSync(path.join(HMI_DIR, "index.html"))) {
    const built = spawnSync(process.execPath, ["node_modules/vite/bin/vite.js", "build", "--config", "hmi/vite.config.ts", "--logLevel", "warn"], { encoding: "utf8" });
    if (built.status !== 0) throw new Error(`HMI build failed: ${built.stderr}`);
  }
  [broker, db] = await Promise.all([startBroker(), startDatabase()]);
  plant = await startTestPlant(db.url, broker.url, { token: TOKEN });
  secretDir = mkdtempSync(path.join(os.tmpdir(), "axviam-plant-secret-"));
  const tokenFile = path.join(secretDir, "plant-token");
  writeFileSync(tokenFile, `${TOKEN}\n`);
  chmodSync(tokenFile, 0o600);

  fixtures = await Promise.all([
    startPlantStation({ id: "imprint-1", lineId: "line-1", brokerUrl: broker.url, plantId: "plant-1", channels: 12 }),
    startPlantStation({ id: "second-life-1", lineId: "line-2", brokerUrl: broker.url, plantId: "plant-1" }),
  ]);
  station = await startTestStation({
    config: {
      station: { id: "hmi-station", name: "HMI station", dataDir: "unused" },
      plant: {
        enabled: true, plantId: "plant-1", lineId: "line-1", publishLiveEveryMs: 200,
        mqtt: { url: broker.url, reconnectMs: 200 },
        service: { url: plant.service.url, tokenFile },
      },
    },
  });
  for (const [role, u] of Object.entries(USERS) as [Role, { username: string; pin: string }][]) {
    await station.auth.createUser({ username: u.username, displayName: u.username, role, pin: "000000" });
    await station.auth.changePin(u.username, "000000", u.pin);
  }

  // line 1: 12 new cells, 10 pass (A/B/C pass, reject does not); line 2: 4 returned cells, one of them (NEW-001)
  // imprinted on line 1 earlier — the cross-station history QA looks up
  const bins = ["A", "A", "A", "A", "A", "A", "B", "B", "C", "C", "reject", "reject"] as const;
  await gradeLot(fixtures[0], "new cells", cells("NEW", bins.map((bin) => ({ bin }))));
  await gradeLot(fixtures[1], "returns", [
    { serial: "NEW-001", capacityAh: 4.1, route: "stationary-storage-a" },
    { serial: "RET-002", capacityAh: 3.9, route: "stationary-storage-a" },
    { serial: "RET-003", capacityAh: 3.2, route: "recycle" },
    { serial: "RET-004", capacityAh: 3.6, route: "retest" },
  ]);
  await waitUntil("16 grades in the plant", async () => (await count(plant.pool, "SELECT count(*) AS n FROM grades")) === 16);
  await waitUntil("three stations' status in the plant", async () => (await count(plant.pool, "SELECT count(*) AS n FROM stations")) === 3);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.cleanup();
  await station?.close();
  await Promise.all(fixtures.map((f) => f.dispose()));
  await plant?.stop();
  await Promise.all([broker?.dispose(), db?.dispose()]);
  if (secretDir) rmSync(secretDir, { recursive: true, force: true });
});

async function login(role: Role): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await signInOnKeypad(page, station.url, USERS[role]!.username, USERS[role]!.pin);
  await page.waitForSelector('[data-testid="user"]');
  return page;
}

const cellsOf = (page: Page, row: string) => page.locator(`${row} td`).allTextContents();

describe("plant scope in the HMI", () => {
  it("supervisor: switches to plant scope and sees every station's status, yield and throughput per line", async () => {
    const page = await login("supervisor");
    await page.click('nav a[href="#/plant"]');

    await expect.poll(() => page.locator("tr[data-station]").count(), { timeout: 10_000 }).toBe(3);
    const hmi = await cellsOf(page, 'tr[data-station="hmi-station"]');
    // the real station: its embedded simulators' 8 channels, all idle, links up
    expect(hmi.slice(0, 5)).toEqual(["HMI station (simulated)", "line-1", "online", "all connected", "idle 8"]);
    expect((await cellsOf(page, 'tr[data-station="imprint-1"]')).slice(0, 3)).toEqual(["Station imprint-1 (simulated)", "line-1", "online"]);
    expect((await cellsOf(page, 'tr[data-station="imprint-1"]'))[6]).toBe("12");
    expect((await cellsOf(page, 'tr[data-station="second-life-1"]'))[6]).toBe("4");

    // line 1: two stations, 12 graded, 10 passed; 12 cells in 24 h = 0.5 cells/h. Line 2: 2 of 4 routes pass.
    expect(await cellsOf(page, 'tr[data-line="line-1"]')).toEqual(["line-1", "2", "imprint", "12", "83.3 %", "A 6 · B 2 · C 2 · reject 2", "12", "0.5"]);
    expect(await cellsOf(page, 'tr[data-line="line-2"]')).toEqual(["line-2", "1", "second-life", "4", "50.0 %", "recycle 1 · retest 1 · stationary-storage-a 2", "4", "0.2"]);
    await page.context().close();
  });

  it("QA: finds a cell plant-wide and sees its history across stations", async () => {
    const page = await login("qa");
    await page.click('nav a[href="#/plant"]');
    await page.fill('input[name="plant-serial"]', "NEW-001");
    await page.click('form.search button[type="submit"]');
    const rows = page.locator("section.plant table").last().locator("tbody tr");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2);
    const history = await Promise.all([0, 1].map(async (i) => (await rows.nth(i).locator("td").allTextContents()).slice(1, 7)));
    expect(history).toEqual([
      ["imprint-1", "line-1", "new cells", "imprint (simulated)", "A", "5.000"],
      ["second-life-1", "line-2", "returns", "second-life (simulated)", "route stationary-storage-a", "4.100"],
    ]);

    await page.fill('input[name="plant-serial"]', "NOPE-404");
    await page.click('form.search button[type="submit"]');
    await expect.poll(() => page.locator("section.plant p.error").nth(1).textContent()).toBe("no grade of cell NOPE-404 anywhere in the plant");
    await page.context().close();
  });

  it("an operator has no plant scope: no nav entry, and the server refuses the forged call", async () => {
    const page = await login("operator");
    expect(await page.locator('nav a[href="#/plant"]').count()).toBe(0);
    const statuses = await page.evaluate(async () => Promise.all(["/api/plant/stations", "/api/plant/cells/NEW-001"].map((u) => fetch(u).then((r) => r.status))));
    expect(statuses).toEqual([403, 403]);
    await page.context().close();

    // without a session: 401; the plant service itself refuses anyone without the stations' token
    expect((await fetch(`${station.url}/api/plant/stations`)).status).toBe(401);
    expect((await fetch(`${plant.service.url}/api/plant/stations`)).status).toBe(401);
    expect((await fetch(`${plant.service.url}/api/plant/stations`, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
  });
});
