// Opens the dashboard in headless Chromium, loads a model through the API while the page is open,
// and waits for its row to appear without a reload; then saves a screenshot.
// usage: node dashboard-check.mjs <base-url> <model> <screenshot.png>
import { chromium } from "playwright-core";

const [base, model, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(base + "/dashboard", { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#conn.live", { timeout: 15000 });
  await page.waitForSelector("[data-node]", { timeout: 15000 });
  if (await page.locator(`tr[data-model="${model}"]`).count() !== 0) {
    throw new Error(`${model} is loaded before the test loads it`);
  }
  let reloaded = false;
  page.on("framenavigated", f => { if (f === page.mainFrame()) reloaded = true; });
  const answer = await fetch(base + "/v1/chat/completions", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hello" }] }),
  });
  if (answer.status !== 200) throw new Error(`loading ${model}: HTTP ${answer.status}`);
  await page.waitForSelector(`tr[data-model="${model}"][data-state="ready"]`, { timeout: 20000 });
  await page.waitForSelector(`#event-list li[data-type="runner_started"]`, { timeout: 10000 });
  if (reloaded) throw new Error("the page reloaded");
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`ok: ${model} appeared live; screenshot ${screenshot}`);
} finally {
  await browser.close();
}
