/** Real headless Chromium (Debian's /usr/bin/chromium) through playwright-core; nothing is downloaded. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function launchBrowser(): Promise<Browser & { cleanup(): Promise<void> }> {
  // Chromium writes to ~/.config/chromium unless XDG_CONFIG_HOME points elsewhere.
  const home = mkdtempSync(path.join(os.tmpdir(), "axviam-chromium-"));
  process.env.XDG_CONFIG_HOME = home;
  process.env.XDG_CACHE_HOME = home;
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  return Object.assign(browser, {
    async cleanup() {
      await browser.close();
      rmSync(home, { recursive: true, force: true });
    },
  });
}

/** Signs in on the HMI's login screen the way an operator does: user name, PIN on the on-screen keypad, enter. */
export async function signInOnKeypad(page: Page, url: string, username: string, pin: string): Promise<void> {
  await page.goto(url);
  await page.fill('input[name="user"]', username);
  for (const digit of pin) await page.click(`button[data-key="${digit}"]`);
  await page.click('button[data-key="enter"]');
}
