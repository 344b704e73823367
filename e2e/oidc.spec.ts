import { expect, test, type Page } from '@playwright/test';
import { ShopPage } from './fixtures/shop';

// Signing in at an external OpenID provider (the npm `oidc-provider` that `cargo xtask e2e`
// starts, with its development sign-in pages: any login, any password). The mall's BFF is
// configured for it (`[auth.oidc]`), so the shop's sign-in page offers it by name.
const provider = process.env.MALL_OIDC_NAME ?? 'Test ID';

/** From the shop's sign-in page through the provider's sign-in and consent pages. */
async function signInAtProvider(shop: ShopPage, login: string): Promise<void> {
  const page: Page = shop.page;
  await shop.open();
  await shop.expectSignedOut();
  await page.getByRole('link', { name: `Sign in with ${provider}` }).click();
  await page.getByPlaceholder('Enter any login').fill(login);
  await page.getByPlaceholder('and password').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  // Back in the shop, signed in with the name the provider gave.
  await expect(page).toHaveURL(new URL('/', process.env.MALL_URL ?? 'http://127.0.0.1:8088').href);
  await shop.expectSignedIn(`Person ${login}`);
}

function fresh(label: string): string {
  return `${label}-${Date.now().toString(36)}`;
}

test('a customer signs in at the OpenID provider and orders', async ({ page }) => {
  const shop = new ShopPage(page);
  const login = fresh('alice');
  await signInAtProvider(shop, login);
  // The provider's own pages are not the shop's: only what the shop logs from here on counts.
  const logged = shop.consoleErrors.length;
  const me = await (await page.request.get('/auth/me')).json();
  expect(me.customerId).toBe(`${login}@idp.example`);
  expect(me.roles).toContain('customer');
  expect(me.roles).not.toContain('staff');

  await shop.expectReady('order');
  await shop.selectProduct('TV');
  const orderId = await shop.placeOrder({ quantity: 1, name: `Person ${login}`, address: '1 Teheran-ro, Seoul' });
  await expect(shop.orderRow(orderId)).toBeVisible();
  await expect(shop.orderRow(orderId).getByTestId('order-delivery-status')).toHaveText('DeliveryStarted');
  // A customer gets no staff tools.
  await expect(shop.slot('delivery').getByRole('button', { name: 'Show deliveries' })).toHaveCount(0);
  expect(shop.consoleErrors.slice(logged)).toEqual([]);
});

test("the provider's staff group makes a staff member", async ({ page }) => {
  const shop = new ShopPage(page);
  const login = fresh('staff');
  await signInAtProvider(shop, login);
  const logged = shop.consoleErrors.length;
  const me = await (await page.request.get('/auth/me')).json();
  expect(me.roles).toContain('staff');
  await shop.expectReady('delivery');
  await expect(shop.slot('delivery').getByRole('button', { name: 'Show deliveries' })).toBeVisible();
  expect(shop.consoleErrors.slice(logged)).toEqual([]);
});
