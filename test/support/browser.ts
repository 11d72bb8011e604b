/** Real headless Chromium (Debian's /usr/bin/chromium) through playwright-core; nothing is downloaded. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";

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
