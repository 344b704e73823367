import { expect, test } from './fixtures/test';
import { freshAccount, signUp } from './fixtures/account';
import { placeOrder, productNamed } from './fixtures/mall';
import { ShopPage } from './fixtures/shop';

/** The page's requests to `/auth/me`. */
function askedWhoIsSignedIn(shop: ShopPage): string[] {
  return shop.requests.filter((url) => new URL(url).pathname === '/auth/me');
}

// The document carries what `/auth/me` would answer its caller, so the shell mounts the
// components that need a customer with the account at once: no request waits for another
// request's answer before the components ask for their data. The header greets the account,
// and every component shows the customer's data, without the page ever asking `/auth/me`.
test('a signed-in page shows every component with its data without asking who is signed in', async ({
  page,
}) => {
  const shop = new ShopPage(page);
  const account = await signUp(page.request);
  const tv = await productNamed(page.request, 'TV');
  const orderId = await placeOrder(page.request, { productId: tv.id, quantity: 1 });
  await shop.open();

  await shop.expectSignedIn(account.name);
  await expect(shop.productRow('TV')).toBeVisible();
  await expect(shop.orderRow(orderId)).toBeVisible();
  await expect(shop.deliveryRow(orderId)).toBeVisible();
  // The components were mounted with the account (the order form starts with its address).
  await shop.selectProduct('CAMERA');
  await expect(shop.slot('order').getByLabel('Address')).toHaveValue(account.address);
  expect(askedWhoIsSignedIn(shop)).toEqual([]);
  expect(shop.consoleErrors).toEqual([]);
});

// Signed out, the document says so too: the sign-in page shows without a request. Signing in
// on the page changes the session, so then the shell asks `/auth/me` who it is.
test('a signed-out page shows the sign-in page without asking, and asks once signed in', async ({
  page,
}) => {
  const shop = new ShopPage(page);
  await shop.open();
  await shop.expectReady('product');
  await shop.expectSignedOut();
  expect(askedWhoIsSignedIn(shop)).toEqual([]);

  const account = freshAccount('visitor');
  await shop.signUpOnPage(account);
  await shop.expectSignedIn(account.name);
  await shop.expectReady('order');
  expect(askedWhoIsSignedIn(shop)).toHaveLength(1);
  expect(shop.consoleErrors).toEqual([]);
});
