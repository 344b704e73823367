import { expect, test } from './fixtures/test';
import { signUp } from './fixtures/account';
import { ShopPage } from './fixtures/shop';
import config from './playwright.config';

// Playwright starts Chromium with its back/forward cache turned off; this file turns it on,
// as every visitor's browser has it.
test.use({
  launchOptions: { ...config.use?.launchOptions, ignoreDefaultArgs: ['--disable-back-forward-cache'] },
});

/** Counts, in the page, the times it was shown again from the back/forward cache. */
function countRestores(): void {
  window.addEventListener('pageshow', (e) => {
    if (e.persisted) {
      const w = window as unknown as { mallRestored?: number };
      w.mallRestored = (w.mallRestored ?? 0) + 1;
    }
  });
}

const restores = (shop: ShopPage) =>
  shop.page.evaluate(() => (window as unknown as { mallRestored?: number }).mallRestored ?? 0);

// A signed-out shop is kept whole when the visitor navigates away, so Back shows it at once.
// It comes back as it was left, so the shell asks who is signed in: a visitor who signed in
// meanwhile (in another tab, or on the page they went to) gets their orders and deliveries.
test('a signed-out page comes back from the back/forward cache and follows a sign-in made meanwhile', async ({
  page,
}) => {
  const shop = new ShopPage(page);
  await page.addInitScript(countRestores);
  await shop.open();
  await shop.expectReady('product');
  await shop.expectSignedOut();

  await page.goto('/healthz');
  const account = await signUp(page.request); // this browser is signed in now
  // A page restored from the cache fires no load event: wait for the navigation only.
  await page.goBack({ waitUntil: 'commit' });

  await expect.poll(() => restores(shop)).toBe(1);
  await shop.expectSignedIn(account.name);
  await shop.expectReady('order');
  await shop.expectReady('delivery');
});

// A signed-in document carries the customer's name and id and is `no-store`: it is never
// kept, not even in the back/forward cache, so after a sign-out Back loads the page afresh,
// signed out, and shows nothing of the customer who was.
test('a signed-in page is not kept: after a sign-out, Back shows the shop signed out', async ({
  page,
}) => {
  const shop = new ShopPage(page);
  await page.addInitScript(countRestores);
  const account = await signUp(page.request);
  await shop.open();
  await shop.expectSignedIn(account.name);
  await shop.expectReady('order');

  await page.goto('/healthz');
  const out = await page.request.post('auth/logout', { data: {} });
  expect(out.status()).toBeLessThan(300);
  await page.goBack();

  await shop.expectReady('product');
  await shop.expectSignedOut();
  await expect(page.getByTestId('account-name')).not.toHaveText(account.name);
  expect(await restores(shop)).toBe(0);
});
