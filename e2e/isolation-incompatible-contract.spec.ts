import { expect, test } from './fixtures/test';
import { manifestWith, serveManifest, placeOrder, productNamed } from './fixtures/mall';
import { ShopPage } from './fixtures/shop';

// The manifest lists the order component with a contract version this shell does not speak:
// the shell does not even import it, shows a fallback there, and the others keep working.
test('a component with an incompatible contract version is refused alone', async ({
  page,
  request,
}) => {
  const manifest = await manifestWith(request, 'order', { contract: 2 });
  await serveManifest(page, manifest, 'order');
  const shop = new ShopPage(page);
  await shop.signUpAndOpen();

  await shop.expectFailed('order', /version this page cannot run/);
  await expect(shop.fallback('order')).toContainText('incompatible contract version 2');
  shop.expectFailureLogged('order');
  expect(shop.requests.some((url) => url.includes('/components/order/'))).toBe(false);

  await shop.expectReady('product');
  await expect(shop.productRow('TV')).toBeVisible();
  const tv = await productNamed(request, 'TV');
  const orderId = await placeOrder(page.request, { productId: tv.id, quantity: 1 });
  await expect(shop.deliveryRow(orderId).getByTestId('delivery-status')).toHaveText(
    'DeliveryStarted',
  );
});
