import { expect, test } from './fixtures/test';
import { manifestWith, serveManifest, placeOrder, productNamed } from './fixtures/mall';
import { staffAccount } from './fixtures/account';
import { ShopPage } from './fixtures/shop';

// The order bundle panics at run time (the test-only build, swapped in for this page only):
// its panic hook reports mall:component-failed, the shell replaces that slot with a fallback,
// the product and delivery components keep working, and Retry mounts a fresh instance.
test('an order component that panics fails alone and Retry mounts a fresh instance', async ({
  page,
  request,
}) => {
  const hooksEntry = process.env.MALL_TEST_HOOKS_ORDER_ENTRY;
  test.skip(!hooksEntry, 'needs the test-hooks order bundle that cargo xtask test builds');
  const manifest = await manifestWith(request, 'order', { entry: hooksEntry });
  await serveManifest(page, manifest, 'order');
  const shop = new ShopPage(page);
  // Staff, who may order for themselves and complete deliveries.
  await shop.signInAndOpen(staffAccount());
  await shop.expectReady('order');

  await page.evaluate(() =>
    window.dispatchEvent(new CustomEvent('mall:test-panic', { detail: { component: 'order' } })),
  );
  await shop.expectFailed('order', /stopped working/);
  shop.expectFailureLogged('order');

  // Product still lists and selects; delivery still shows and completes a new order's delivery.
  await shop.expectReady('product');
  await shop.selectProduct('RADIO');
  await expect(
    shop.slot('product').getByRole('button', { name: 'Select RADIO' }),
  ).toHaveAttribute('aria-pressed', 'true');
  const radio = await productNamed(request, 'RADIO');
  const orderId = await placeOrder(page.request, { productId: radio.id, quantity: 1 });
  await expect(shop.deliveryRow(orderId).getByTestId('delivery-status')).toHaveText(
    'DeliveryStarted',
  );
  await shop.completeDeliveryOf(orderId);
  await expect(shop.deliveryRow(orderId).getByTestId('delivery-status')).toHaveText(
    'DeliveryCompleted',
  );

  // Retry: a new module instance (never the trapped one), which works.
  await shop.retry('order');
  await shop.expectReady('order');
  expect(shop.requests.some((url) => /order_component\.js\?instance=1$/.test(url))).toBe(true);
  await expect(shop.orderRow(orderId)).toBeVisible();
  await shop.selectProduct('RADIO');
  const again = await shop.placeOrder({ quantity: 1, name: 'Lee', address: 'Incheon' });
  await expect(shop.orderRow(again)).toBeVisible();
});
