// Scenario 5 of `cargo xtask bench`: the shop page in headless Chromium, the time from
// navigation to each component's first render (its slot's data-state turning "ready", which
// the shell sets once the component has mounted its view), and to all three; then the same
// with one component's bundle hung (its requests never answered).
//
// Hanging a bundle uses Playwright's request interception, which sends every request of the
// page through the driver; so the hung runs are compared with "routed" runs that go through
// the same interception with nothing hung, and the plain runs give the absolute times.
//
// node bench/browser.mjs URL RUNS  →  prints one JSON object:
// { "healthy": [{product, order, delivery}, ...], "routed": [...],
//   "hung": {"order": [{product, delivery}, ...], ...},
//   "timeline": [{"/shell/0.1.0/mall_shell_bg.wasm": 120.5, ...}, ...] (healthy loads: when
//   each file had arrived) }
// (milliseconds since navigation start, one object per run).

import { chromium } from 'playwright';

const [url, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 5);
const NAMES = ['product', 'order', 'delivery'];

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});

// Records, in the page, when each slot first says it is ready.
function watchSlots() {
  window.__mallReady = {};
  const check = () => {
    for (const slot of document.querySelectorAll('[data-testid^="slot-"]')) {
      const name = slot.dataset.testid.slice('slot-'.length);
      if (slot.dataset.state === 'ready' && !(name in window.__mallReady)) {
        window.__mallReady[name] = performance.now();
      }
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['data-state'],
  });
}

// `routed`: every request goes through Playwright's interception; `hung` (a component name,
// implies routed): that component's requests are never answered.
async function once(routed, hung) {
  // A fresh context per run: no cached bundles or compiled wasm from the run before.
  const context = await browser.newContext();
  const page = await context.newPage();
  if (routed || hung) {
    await page.route('**/*', (route) => {
      if (hung && route.request().url().includes(`/components/${hung}/`)) {
        return; // never fulfilled: the bundle hangs
      }
      route.continue();
    });
  }
  await page.addInitScript(watchSlots);
  await page.goto(url, { waitUntil: 'commit' });
  const expected = NAMES.filter((n) => n !== hung);
  await page.waitForFunction(
    (names) => names.every((n) => n in window.__mallReady),
    expected,
    { timeout: 30_000 },
  );
  const times = await page.evaluate(() => window.__mallReady);
  // When each file of the page had arrived (ms since navigation start), for the timeline.
  const arrived = await page.evaluate(() => {
    const out = { document: performance.getEntriesByType('navigation')[0]?.responseEnd ?? 0 };
    for (const e of performance.getEntriesByType('resource')) {
      out[new URL(e.name).pathname] = e.responseEnd;
    }
    return out;
  });
  await context.close();
  const out = {};
  for (const n of expected) out[n] = times[n];
  if (!routed && !hung) timeline.push(arrived);
  return out;
}

const timeline = [];

const result = { healthy: [], routed: [], hung: Object.fromEntries(NAMES.map((n) => [n, []])) };
await once(false, null); // warm-up: the server's files in the page cache, Chromium's processes up
// Interleaved, so a change in the machine's load falls on every variant alike.
for (let i = 0; i < runs; i++) {
  result.healthy.push(await once(false, null));
  result.routed.push(await once(true, null));
  for (const hung of NAMES) result.hung[hung].push(await once(true, hung));
}
await browser.close();
result.timeline = timeline.slice(1); // without the warm-up
console.log(JSON.stringify(result));
