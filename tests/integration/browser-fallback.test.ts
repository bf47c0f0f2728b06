import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { findChromium } from "../support/browser";

/**
 * On a machine without a system Chromium (a newcomer's), the browser tests fall back to the
 * Chromium shipped inside the npm package @sparticuz/chromium. This takes that path whatever
 * the machine has, and drives the browser it finds.
 */
describe("the browser tests on a machine without Chromium", () => {
  it("launch the Chromium from @sparticuz/chromium and render a page", async () => {
    const choice = await findChromium([]);
    expect(choice.source).toBe("@sparticuz/chromium");
    const browser = await chromium.launch({
      executablePath: choice.executablePath,
      headless: true,
      args: choice.args,
    });
    try {
      const page = await browser.newPage();
      await page.setContent("<main><h1>Ballast</h1><p id='n'></p></main>");
      await page.evaluate(() => {
        const p = document.querySelector("#n");
        if (p) p.textContent = String(6 * 7);
      });
      expect(await page.textContent("h1")).toBe("Ballast");
      expect(await page.textContent("#n")).toBe("42");
    } finally {
      await browser.close();
    }
  }, 120_000);
});
