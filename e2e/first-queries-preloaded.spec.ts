import { expect, test } from './fixtures/test';
import { signUp } from './fixtures/account';
import { placeOrder, productNamed } from './fixtures/mall';
import { ShopPage } from './fixtures/shop';

// Each component declares its first query beside its bundle; the document preloads it for a
// caller who will mount that component (`<link rel="preload" as="fetch" crossorigin
// data-mall-query=OPERATION href="graphql?query=…">`), so the data arrives while the bundles
// compile. The component's first request is a GET of exactly that URL, which the browser
// answers with the preloaded response: each first query reaches the mall once, with the
// document, and no request waits for a bundle before asking for data.
test("every component takes its first data from the document's preload", async ({ page }) => {
  const shop = new ShopPage(page);
  await signUp(page.request);
  const tv = await productNamed(page.request, 'TV');
  const orderId = await placeOrder(page.request, { productId: tv.id, quantity: 1 });
  // Every `fetch()` the page's code makes, as method and absolute URL.
  await page.addInitScript(() => {
    const calls: string[] = [];
    (window as unknown as { __fetches: string[] }).__fetches = calls;
    const original = window.fetch.bind(window);
    window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      // Read, never copied: a Request made from another takes its body.
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
      const url = input instanceof Request ? input.url : new URL(String(input), location.href).href;
      calls.push(`${method.toUpperCase()} ${url}`);
      return original(input, init);
    };
  });
  await shop.open();
  await expect(shop.productRow('TV')).toBeVisible();
  await expect(shop.orderRow(orderId)).toBeVisible();
  await shop.expectReady('delivery');

  const preloads = await page.evaluate(() =>
    [...document.querySelectorAll('link[rel="preload"][href*="graphql?"]')].map((link) => ({
      url: (link as HTMLLinkElement).href,
      operation: new URL((link as HTMLLinkElement).href).searchParams.get('operationName'),
    })),
  );
  expect(preloads.map((p) => p.operation).sort()).toEqual(['Deliveries', 'MyPage', 'Products']);
  const fetches = await page.evaluate(() => (window as unknown as { __fetches: string[] }).__fetches);
  for (const { url, operation } of preloads) {
    // The component asked for exactly the preloaded request (not a POST of its own)…
    expect(fetches, operation ?? '').toContain(`GET ${url}`);
    // …and the browser answered it with the preload: one request reached the network.
    expect(shop.requests.filter((r) => r === url), operation ?? '').toHaveLength(1);
  }
  expect(shop.consoleErrors).toEqual([]);
});

// A visitor nobody signed in gets the catalogue's first query preloaded, and nothing of the
// components that need a customer (whose queries would only be refused).
test("a signed-out page preloads only the catalogue's first query", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.open();
  await expect(shop.productRow('TV')).toBeVisible();
  const operations = await page.evaluate(() =>
    [...document.querySelectorAll('link[rel="preload"][href*="graphql?"]')].map((link) =>
      new URL((link as HTMLLinkElement).href).searchParams.get('operationName'),
    ),
  );
  expect(operations).toEqual(['Products']);
  // The catalogue took it: the page asked the mall's GraphQL endpoint once, with the document.
  expect(shop.requests.filter((r) => new URL(r).pathname === '/graphql')).toHaveLength(1);
  expect(shop.consoleErrors).toEqual([]);
});
