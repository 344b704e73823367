// Scenario 5 of `cargo xtask bench`: the shop page in headless Chromium, signed in as a
// customer who has an order (so the order and delivery components, whose slots wait for an
// account, load and show rows).
//
// Per page load, in milliseconds since navigation start:
// - `ready`: each slot's data-state turning "ready" (the shell sets it once the component has
//   mounted its first view);
// - `data`: each component showing its first GraphQL-backed content: the first row of its
//   table inside its shadow root (`[data-testid=product-row]`, `order-row`, `delivery-row`);
// - `depth` and `chain`: the request chain depth from the page's Resource Timing entries (see
//   chainDepth below), over the requests that started before every component had data.
//
// Variants, interleaved so that a change in the machine's load falls on all alike:
// - healthy: plain loads;
// - routed: every request through Playwright's interception, nothing hung (the baseline of
//   the hung runs, since interception slows every load);
// - hung[NAME]: routed, and NAME's bundle requests never answered;
// then, when a second shop (ALONE_URL, whose manifest file is ALONE_MANIFEST) is given:
// - composed / alone: the full page against the same shell with only the slowest component
//   (by the healthy loads' median first data) in its manifest, interleaved; these loads also
//   read the renderer's main-thread time (`main`, see once());
// - repeatComposed / repeatAlone: the same two as a repeat visit (a second load in the same
//   browser context, its bundles in the HTTP cache), interleaved;
// - tracedComposed / tracedAlone: the same two again under a Chromium trace (which slows a
//   load, so these loads time nothing): how much of the renderer's main thread went to V8
//   compiling wasm functions on their first call (see compileOnFirstCall).
//
// node bench/browser.mjs URL RUNS [ALONE_URL ALONE_MANIFEST]  →  prints one JSON object:
// { "healthy": [Sample, ...], "routed": [...], "hung": {"order": [...], ...},
//   "composed": [...], "alone": [...], "slowest": "order",
//   "repeatComposed": [...], "repeatAlone": [...],
//   "tracedComposed": [Compile, ...], "tracedAlone": [...],
//   "timeline": [{"/shell/0.1.0/mall_shell_bg.wasm": 120.5, ...}, ...] (healthy loads: when
//   each file had arrived) }
// where Sample = { ready: {product, order, delivery}, data: {...}, depth, chain: [names],
//   main: {task, script} (ms; composed, alone and repeat loads only) }
// and Compile = { tasks, compile, functions } (see compileOnFirstCall).

import { readFileSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright';

const [url, runsArg, aloneUrl, aloneManifest] = process.argv.slice(2);
const runs = Number(runsArg ?? 5);
const NAMES = ['product', 'order', 'delivery'];
// How many traced loads of each of the composition's two pages.
const TRACED = 3;
// How long a repeat visit's first load is left before the second.
const REPEAT_AFTER_MS = 3000;
// The first GraphQL-backed content of each component, inside its shadow root.
const MARKERS = {
  product: '[data-testid="product-row"]',
  order: '[data-testid="order-row"]',
  delivery: '[data-testid="delivery-row"]',
};

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

// Signs a new customer up at `base` and places one order for them, so that every component
// has a row to show; the signed-in cookies, for fresh contexts.
async function customer(base) {
  const context = await browser.newContext({ baseURL: base });
  const stamp = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const signup = await context.request.post('auth/signup', {
    data: {
      email: `bench-${stamp}@bench.12st.example`,
      name: 'Bench Shopper',
      address: '1 Teheran-ro, Seoul',
      password: `pw-${stamp}-secret`,
    },
  });
  if (signup.status() !== 201) throw new Error(`sign-up at ${base}: ${signup.status()} ${await signup.text()}`);
  const order = await context.request.post('graphql', {
    headers: { 'content-type': 'application/json' },
    data: {
      query: 'mutation { placeOrder(input: {productId: 1, quantity: 1, customerName: "Bench Shopper", customerAddr: "1 Teheran-ro, Seoul"}) { id } }',
    },
  });
  const placed = await order.json();
  if (!placed?.data?.placeOrder?.id) throw new Error(`placeOrder at ${base}: ${JSON.stringify(placed)}`);
  // The delivery starts by event: wait until the customer's deliveries list it.
  for (let i = 0; i < 100; i++) {
    const r = await context.request.post('graphql', {
      headers: { 'content-type': 'application/json' },
      data: { query: '{ deliveries { id } }' },
    });
    const body = await r.json();
    if ((body?.data?.deliveries ?? []).length > 0) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  const state = await context.storageState();
  await context.close();
  return state;
}

// Records, in the page, when each slot first says it is ready and when each component first
// shows a row. Shadow roots are open; every one the page attaches is observed too.
function watchSlots(markers) {
  window.__mallReady = {};
  window.__mallData = {};
  const check = () => {
    const now = performance.now();
    for (const slot of document.querySelectorAll('[data-testid^="slot-"]')) {
      const name = slot.dataset.testid.slice('slot-'.length);
      if (slot.dataset.state === 'ready' && !(name in window.__mallReady)) {
        window.__mallReady[name] = now;
      }
      if (!(name in window.__mallData) && markers[name]) {
        for (const host of slot.querySelectorAll('*')) {
          if (host.shadowRoot?.querySelector(markers[name])) {
            window.__mallData[name] = now;
            break;
          }
        }
      }
    }
  };
  const observe = (root) =>
    new MutationObserver(check).observe(root, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-state'],
    });
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attach.call(this, init);
    observe(root);
    return root;
  };
  observe(document);
}

// The request chain depth of a load, from its Resource Timing entries. The document is
// level 1; every other request was found in it or after it (level 2 at least); a request
// that started after another had ended may have waited for it, so its level is one more
// than the deepest request that had ended when it started. That is an upper bound (a
// request that started late only because a core was busy counts as waiting), and the chain
// is named so a reader can judge each link. Only requests that started before `until` (every
// component showing data) count: later ones are not on the way to the first view.
function chainDepth(entries, until) {
  const doc = entries.find((e) => e.name === 'document');
  const rest = entries
    .filter((e) => e.name !== 'document' && e.start <= until)
    .sort((a, b) => a.start - b.start);
  const level = new Map([[doc, 1]]);
  const before = new Map([[doc, null]]);
  for (const e of rest) {
    let best = doc;
    for (const f of rest) {
      if (f === e || !level.has(f) || f.end > e.start) continue;
      if (level.get(f) >= level.get(best)) best = f;
    }
    level.set(e, level.get(best) + 1);
    before.set(e, best);
  }
  let deepest = doc;
  for (const [e, l] of level) if (l > level.get(deepest)) deepest = e;
  const chain = [];
  for (let e = deepest; e; e = before.get(e)) chain.unshift(e.name);
  return { depth: level.get(deepest), chain };
}

// One fresh page load (a new context: no cached bundles or compiled wasm from the load
// before). `routed`: every request through Playwright's interception; `hung` (a component's
// name, implies routed): that component's requests are never answered; `expected`: the
// components that must show data.
async function once(
  base,
  state,
  {
    routed = false,
    hung = null,
    expected = NAMES,
    context: given = null,
    metrics = false,
    traced = false,
  } = {},
) {
  const context = given ?? (await browser.newContext({ storageState: state }));
  const page = await context.newPage();
  // The renderer's own account of its main thread (Chromium's Performance domain: the
  // cumulative time of its tasks and of script in them), read as soon as Playwright
  // has seen every component's data (within a frame of it).
  const cdp = metrics ? await context.newCDPSession(page) : null;
  if (cdp) await cdp.send('Performance.enable', { timeDomain: 'timeTicks' });
  if (routed || hung) {
    await page.route('**/*', (route) => {
      if (hung && route.request().url().includes(`/components/${hung}/`)) {
        return; // never fulfilled: the bundle hangs
      }
      route.continue();
    });
  }
  await page.addInitScript(watchSlots, MARKERS);
  // `traced`: the load under a Chromium trace, read by compileOnFirstCall (a trace slows the
  // load, so its times are not to be used).
  if (traced) await browser.startTracing(page, { categories: ['toplevel', 'v8.wasm'] });
  await page.goto(base, { waitUntil: 'commit' });
  await page.waitForFunction(
    (names) => names.every((n) => n in window.__mallData && n in window.__mallReady),
    expected,
    { timeout: 30_000 },
  );
  const compile = traced
    ? compileOnFirstCall(JSON.parse((await browser.stopTracing()).toString('utf8')))
    : undefined;
  let main;
  if (cdp) {
    const { metrics: list } = await cdp.send('Performance.getMetrics');
    const m = Object.fromEntries(list.map(({ name, value }) => [name, value * 1000]));
    main = { task: m.TaskDuration, script: m.ScriptDuration };
  }
  const seen = await page.evaluate(() => ({ ready: window.__mallReady, data: window.__mallData }));
  const entries = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const out = [{ name: 'document', start: 0, end: nav?.responseEnd ?? 0 }];
    for (const e of performance.getEntriesByType('resource')) {
      const u = new URL(e.name);
      // A request still in flight has no end yet: it is nobody's predecessor.
      out.push({ name: u.pathname, start: e.startTime, end: e.responseEnd || Infinity });
    }
    return out;
  });
  if (given) await page.close();
  else await context.close();
  const pick = (times) => Object.fromEntries(expected.map((n) => [n, times[n]]));
  const data = pick(seen.data);
  const until = Math.max(...Object.values(data));
  const arrived = Object.fromEntries(
    entries.filter((e) => e.start <= until && Number.isFinite(e.end)).map((e) => [e.name, e.end]),
  );
  return { ready: pick(seen.ready), data, ...chainDepth(entries, until), arrived, main, compile };
}

// How much of the renderer's main thread a traced load spent compiling wasm: V8 compiles a
// wasm function (Liftoff) the first time it is called, on the thread calling it, so every
// component's start-up compiles the code it runs, its own copy of leptos and std included,
// on the page's one main thread. From the trace's events on that thread (the renderer's main
// thread with the most top-level tasks), as thread time (CPU, not wall time): `tasks`, every
// top-level task; `compile`, V8's `wasm.CompileLazy` (compiling, publishing and flushing one
// function); `functions`, how many were compiled. In ms.
function compileOnFirstCall(trace) {
  const events = trace.traceEvents ?? trace;
  const mains = new Set(
    events
      .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
      .map((e) => `${e.pid}:${e.tid}`),
  );
  const byThread = new Map();
  for (const e of events) {
    const key = `${e.pid}:${e.tid}`;
    if (e.ph !== 'X' || !mains.has(key) || e.tdur === undefined) continue;
    if (!byThread.has(key)) byThread.set(key, []);
    byThread.get(key).push(e);
  }
  const topLevel = (list) => {
    const sorted = [...list].sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    const out = [];
    let end = -Infinity;
    for (const e of sorted) {
      if (e.ts >= end) {
        out.push(e);
        end = e.ts + e.dur;
      }
    }
    return out;
  };
  let best = null;
  for (const list of byThread.values()) {
    const tasks = topLevel(list.filter((e) => e.cat.split(',').includes('toplevel')));
    if (!best || tasks.length > best.tasks.length) best = { list, tasks };
  }
  if (!best) return null;
  const compiles = topLevel(best.list.filter((e) => e.name === 'wasm.CompileLazy'));
  const sum = (xs) => xs.reduce((t, e) => t + e.tdur, 0) / 1000;
  return { tasks: sum(best.tasks), compile: sum(compiles), functions: compiles.length };
}

const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

const signedIn = await customer(url);
const result = { healthy: [], routed: [], hung: Object.fromEntries(NAMES.map((n) => [n, []])) };
const timeline = [];
await once(url, signedIn); // warm-up: the server's files in the page cache, Chromium's processes up
for (let i = 0; i < runs; i++) {
  const healthy = await once(url, signedIn);
  timeline.push(healthy.arrived);
  result.healthy.push(healthy);
  result.routed.push(await once(url, signedIn, { routed: true }));
  for (const hung of NAMES) {
    result.hung[hung].push(
      await once(url, signedIn, { hung, expected: NAMES.filter((n) => n !== hung) }),
    );
  }
}
result.timeline = timeline;

if (aloneUrl && aloneManifest) {
  // The slowest component to show data in the healthy loads, alone in the second shop's
  // manifest (the BFF reads the file for every document).
  const slowest = NAMES.map((n) => [n, median(result.healthy.map((s) => s.data[n]))]).sort(
    (a, b) => b[1] - a[1],
  )[0][0];
  const manifest = JSON.parse(readFileSync(aloneManifest, 'utf8'));
  writeFileSync(aloneManifest, JSON.stringify({ [slowest]: manifest[slowest] }));
  result.slowest = slowest;
  result.composed = [];
  result.alone = [];
  const aloneSignedIn = await customer(aloneUrl);
  await once(aloneUrl, aloneSignedIn, { expected: [slowest] }); // warm-up
  for (let i = 0; i < runs; i++) {
    result.composed.push(await once(url, signedIn, { metrics: true }));
    result.alone.push(await once(aloneUrl, aloneSignedIn, { expected: [slowest], metrics: true }));
  }
  // A repeat visit: the same context loads the page once, waits a moment (Chromium may keep
  // compiled code beside a cached response), then loads it again in a new tab; that second
  // load is measured. The bundles' versioned URLs are immutable, so they come from the HTTP
  // cache; the document and the data are asked afresh.
  result.repeatComposed = [];
  result.repeatAlone = [];
  const visits = [
    [url, signedIn, NAMES, result.repeatComposed],
    [aloneUrl, aloneSignedIn, [slowest], result.repeatAlone],
  ];
  for (let i = 0; i < runs; i++) {
    for (const [base, state, expected, list] of visits) {
      const context = await browser.newContext({ storageState: state });
      await once(base, state, { expected, context });
      await new Promise((done) => setTimeout(done, REPEAT_AFTER_MS));
      list.push(await once(base, state, { expected, context, metrics: true }));
      await context.close();
    }
  }
  result.tracedComposed = [];
  result.tracedAlone = [];
  for (let i = 0; i < TRACED; i++) {
    result.tracedComposed.push((await once(url, signedIn, { traced: true })).compile);
    result.tracedAlone.push(
      (await once(aloneUrl, aloneSignedIn, { expected: [slowest], traced: true })).compile,
    );
  }
}
await browser.close();
for (const list of [
  result.healthy,
  result.routed,
  ...Object.values(result.hung),
  result.composed ?? [],
  result.alone ?? [],
  result.repeatComposed ?? [],
  result.repeatAlone ?? [],
]) {
  for (const s of list) delete s.arrived;
}
console.log(JSON.stringify(result));
